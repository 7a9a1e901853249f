// kvlb load: the built-in load generator, pointed at any memcached UDP address (kvlb or a
// memcached server). Optionally sets every key first, so that gets hit.
import { parseArgs } from "node:util";
import { parseListen, DEFAULT_LISTEN } from "../config/endpoints.js";
import { makeKeys } from "../load/zipf.js";
import { preload, zipfLoad } from "../load/phases.js";
import { count, percent } from "../util/table.js";
import { numberFlag } from "./flags.js";
import { progressPrinter, progressDone } from "../load/progress.js";
import { ConfigError } from "../errors.js";

export const loadUsage = `options:
  --target ADDR:PORT        where to send memcached UDP (default ${DEFAULT_LISTEN})
  --seconds N               how long (default 10)
  --keys N                  distinct keys (default 10000)
  --zipf θ                  Zipf skew of the key draws (default 0.99)
  --sets R                  share of sets, 0 to 1 (default 0.02)
  --value-bytes N           value size for sets (default 200)
  --preload                 set every key once before the load
  --json                    end with the result as one line of JSON
`;

const num = (name: string, raw: string, ok: (n: number) => boolean): number => numberFlag(name, raw, NaN, ok);

export async function loadCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      target: { type: "string", default: DEFAULT_LISTEN },
      seconds: { type: "string", default: "10" },
      keys: { type: "string", default: "10000" },
      zipf: { type: "string", default: "0.99" },
      sets: { type: "string", default: "0.02" },
      "value-bytes": { type: "string", default: "200" },
      preload: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    strict: true,
  });
  const target = parseListen(values.target);
  const seconds = num("seconds", values.seconds, (n) => n > 0 && n <= 86400);
  const keyCount = num("keys", values.keys, (n) => Number.isInteger(n) && n >= 1 && n <= 10_000_000);
  const zipf = num("zipf", values.zipf, (n) => n >= 0 && n <= 5);
  const sets = num("sets", values.sets, (n) => n >= 0 && n <= 1);
  const valueBytes = num("value-bytes", values["value-bytes"], (n) => Number.isInteger(n) && n >= 1 && n <= 1_000_000);
  const keys = makeKeys(keyCount, 16, 40, 7);
  const where = `${target.address}:${target.port}`;
  if (values.preload) {
    process.stdout.write(`setting ${count(keyCount)} keys at ${where}\n`);
    await preload(target, keys, valueBytes, progressPrinter("preload ", Infinity));
    progressDone();
  }
  process.stdout.write(`Zipf(${zipf}) over ${count(keyCount)} keys, ${percent(sets)} sets, ${seconds} s at ${where}\n`);
  const r = await zipfLoad(target, {
    keys,
    zipf,
    seconds,
    sets,
    valueBytes,
    seed: 1,
    progress: progressPrinter("", seconds),
  });
  progressDone();
  const gets = r.hits + r.misses;
  process.stdout.write(
    `${count(r.ops)} ops in ${r.seconds.toFixed(1)} s: ${count(r.opsPerSecond)} ops/s, ` +
      `p50 ${count(r.latencyUs.p50)} µs, p99 ${count(r.latencyUs.p99)} µs; ` +
      `gets ${percent(gets === 0 ? 0 : r.hits / gets)} hit; ${count(r.errors)} errors, ${count(r.timeouts)} timeouts\n`,
  );
  if (values.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  if (r.ops === 0) throw new ConfigError(`${where}: nothing answered (is kvlb or memcached listening there?)`);
  return r.errors > 0 ? 1 : 0;
}
