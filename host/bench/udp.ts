// npm run bench:udp: the socket data path against real memcached servers, with one load
// generator and in one run, so machine noise falls on both sides of each ratio:
//   1. overhead: the same Zipf load straight at one memcached, then through kvlb (cache off);
//   2. Zipf(0.99) over three backends through kvlb with its cache off, then on.
// Set BENCH_SECONDS (per phase, default 5) and BENCH_ROUNDS (default 2; each round runs every
// phase, in alternating order).
import { startMemcached } from "../testbed/memcached.js";
import { makeKeys } from "../load/zipf.js";
import { balancedPhase, cacheOff, preload, zipfLoad, type PhaseSpec } from "../load/phases.js";
import type { LoadResult } from "../load/udp-load.js";
import type { Phase } from "../load/phase-report.js";
import { imbalance } from "../util/imbalance.js";
import type { CoreConfig } from "../core/config.js";
import { count, percent, table } from "../util/table.js";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 5);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 2);
const PORT = Number(process.env["BENCH_PORT"] ?? 22211);
const tuned: Partial<CoreConfig> = { support: 0.01, epsilon: 0.001, warm: 0.001 };

interface Sums {
  direct: LoadResult[];
  through: LoadResult[];
  off: Phase[];
  on: Phase[];
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);

async function main(): Promise<void> {
  const ports = [PORT, PORT + 1, PORT + 2];
  const servers = await startMemcached(ports);
  try {
    const keys = makeKeys(10_000, 16, 40, 7);
    const spec = (seed: number): PhaseSpec => ({
      keys,
      zipf: 0.99,
      seconds: SECONDS,
      sets: 0.02,
      valueBytes: 200,
      seed,
    });
    console.log(
      `bench:udp  ${ROUNDS} rounds of ${SECONDS} s phases; Zipf(0.99) over ${count(keys.length)} keys, 200-byte values, 2% sets;\n` +
        `           load: 4 UDP sockets x 16 requests in flight from one Node thread; kvlb: one worker thread`,
    );
    for (const port of ports) await preload({ address: "127.0.0.1", port }, keys, 200);
    const sums: Sums = { direct: [], through: [], off: [], on: [] };
    for (let round = 0; round < ROUNDS; round++) {
      const steps: [string, () => Promise<void>][] = [
        [
          "direct",
          async () => void sums.direct.push(await zipfLoad({ address: "127.0.0.1", port: PORT }, spec(round))),
        ],
        [
          "through",
          async () => void sums.through.push((await balancedPhase([PORT], cacheOff(tuned), spec(round))).load),
        ],
        ["off", async () => void sums.off.push(await balancedPhase(ports, cacheOff(tuned), spec(round + 100)))],
        ["on", async () => void sums.on.push(await balancedPhase(ports, tuned, spec(round + 100)))],
      ];
      if (round % 2 === 1) steps.reverse();
      for (const [name, step] of steps) {
        if (process.stdout.isTTY) process.stdout.write(`\r  round ${round + 1} of ${ROUNDS}: ${name.padEnd(8)}`);
        await step();
      }
      if (!process.stdout.isTTY) console.log(`  round ${round + 1} of ${ROUNDS} done`);
    }
    if (process.stdout.isTTY) process.stdout.write(`\r${" ".repeat(40)}\r`);
    report(sums);
  } finally {
    await servers.stop();
  }
}

function report(s: Sums): void {
  const ops = (rs: LoadResult[]): number => mean(rs.map((r) => r.opsPerSecond));
  const p50 = (rs: LoadResult[]): number => mean(rs.map((r) => r.latencyUs.p50));
  const p99 = (rs: LoadResult[]): number => mean(rs.map((r) => r.latencyUs.p99));
  const loads = (ps: Phase[]): LoadResult[] => ps.map((p) => p.load);
  const imb = (ps: Phase[]): number => mean(ps.map((p) => imbalance(p.requests)));
  const errors = [...s.direct, ...s.through, ...loads(s.off), ...loads(s.on)].reduce(
    (a, r) => a + r.errors + r.timeouts,
    0,
  );
  const row = (name: string, rs: LoadResult[], extra: string[]): string[] => [
    name,
    count(ops(rs)),
    count(p50(rs)),
    count(p99(rs)),
    ...extra,
  ];
  console.log("");
  for (const line of table(
    ["", "ops/s", "p50 µs", "p99 µs", "imbalance", "answered by kvlb"],
    [
      row("1 memcached, direct", s.direct, ["", ""]),
      row("1 memcached, through kvlb", s.through, ["", ""]),
      row("3 memcached, kvlb cache off", loads(s.off), [
        imb(s.off).toFixed(3),
        percent(mean(s.off.map((p) => p.hitRatio))),
      ]),
      row("3 memcached, kvlb cache on", loads(s.on), [
        imb(s.on).toFixed(3),
        percent(mean(s.on.map((p) => p.hitRatio))),
      ]),
    ],
  ))
    console.log(line);
  console.log("");
  console.log(`overhead:  through kvlb / direct throughput  ${(ops(s.through) / ops(s.direct)).toFixed(3)}x`);
  console.log(`           through kvlb / direct p50 latency ${(p50(s.through) / p50(s.direct)).toFixed(3)}x`);
  console.log(`cache:     on / off throughput               ${(ops(loads(s.on)) / ops(loads(s.off))).toFixed(3)}x`);
  console.log(`           off / on imbalance (max/mean)     ${(imb(s.off) / imb(s.on)).toFixed(3)}x`);
  console.log(`errors and timeouts over all phases: ${errors}`);
}

main().catch((e: unknown) => {
  console.error(`bench:udp: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
