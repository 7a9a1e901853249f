// kvlb swap: change the detector module of a running kvlb through its admin API, go back to the
// one before, or show what each worker runs.
import { parseArgs } from "node:util";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { adminClientOf, adminClientOptions, adminClientUsage } from "./admin-client.js";
import type { ModuleStatus } from "../control/modules.js";
import { reportText, describe } from "../control/swap-text.js";
import { ConfigError } from "../errors.js";

export const swapUsage = `options:
${adminClientUsage}
  --rollback                go back to the module before the last swap
  --show                    each worker's module, its version, sha256 and swap time
  --json                    print the answer as JSON
  Modules: build/kvlb-core.wasm (lossy counting), build/modules/weighted.wasm,
  build/modules/space-saving.wasm, build/modules/count-min.wasm
`;

function statusText(s: ModuleStatus): string {
  const lines = [`running ${describe(s.current)}${s.previous ? `; --rollback goes to ${describe(s.previous)}` : ""}`];
  for (const w of s.workers) {
    const since = w.swappedAt ? `since ${w.swappedAt}` : "since start";
    lines.push(`  worker ${w.worker}: ${describe(w.info)} ${since}, ${w.swaps} swaps, ${w.traps} traps`);
  }
  return lines.join("\n");
}

export async function swapCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...adminClientOptions,
      rollback: { type: "boolean", default: false },
      show: { type: "boolean", default: false },
      json: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const admin = adminClientOf(values);
  const print = (text: string, doc: unknown): void => {
    process.stdout.write(values.json ? `${JSON.stringify(doc, null, 2)}\n` : `${text}\n`);
  };
  if (values.show) {
    const s = await admin.module();
    print(statusText(s), s);
    return 0;
  }
  if (values.rollback) {
    if (positionals.length > 0) throw new ConfigError("kvlb swap --rollback takes no file");
    const r = await admin.rollback();
    print(reportText(r), r);
    return 0;
  }
  const [file, ...extra] = positionals;
  if (!file || extra.length > 0) throw new ConfigError("kvlb swap: give one module file, or --rollback, or --show");
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`${file}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? String(e)})`}`);
  }
  const r = await admin.swap(bytes, basename(file));
  print(reportText(r), r);
  return 0;
}
