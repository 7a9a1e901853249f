// Core modules with a fault built in (assembly/fault.ts), for the module swap's tests, built
// with asc into build/test-modules the first time a test asks (about 3 s each), and again
// whenever the core's sources are newer. Also a module that is WebAssembly but not a core.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, statSync, readdirSync, writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../host/util/paths.js";

const root = projectRoot();
const dir = join(root, "build/test-modules");
const asc = join(root, "node_modules/.bin/asc");

export const faults = { init: 1, restore: 2, process: 3, memory: 4, abi: 5, send: 6 } as const;

function newestSource(path: string): number {
  let newest = 0;
  for (const e of readdirSync(path, { withFileTypes: true })) {
    const p = join(path, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs);
  }
  return newest;
}

// Test files run in parallel processes and may build the same module at once: each builds into
// a file of its own and renames it into place, so that no reader sees half a module.
function build(out: string, args: string[], cwd = root): Uint8Array {
  if (!existsSync(out) || statSync(out).mtimeMs < newestSource(join(root, "assembly"))) {
    mkdirSync(dir, { recursive: true });
    const tmp = `${out}.${process.pid}`;
    execFileSync(asc, [...args, "-o", tmp], { cwd, stdio: ["ignore", "pipe", "pipe"] });
    renameSync(tmp, out);
  }
  return readFileSync(out);
}

/** The lossy-counting core with one fault. */
export function faultModule(fault: keyof typeof faults): Uint8Array {
  prepareDir();
  return build(
    join(dir, `fault-${fault}.wasm`),
    [
      join(root, "assembly/index.ts"),
      "--importMemory",
      "--runtime",
      "stub",
      "--noAssert",
      "--use",
      "abort=",
      "--use",
      "KVLB_DETECTOR=1",
      "--use",
      `KVLB_FAULT=${faults[fault]}`,
      "-O0",
    ],
    dir,
  );
}

// a folder of its own, so that asc does not pick up the project's asconfig.json
function prepareDir(): void {
  mkdirSync(dir, { recursive: true });
  const config = join(dir, "asconfig.json");
  if (!existsSync(config)) writeFileSync(config, "{}\n");
}

/** A WebAssembly module with the right abi_version and nothing else a core exports. */
export function bareModule(): Uint8Array {
  prepareDir();
  const source = join(dir, "bare.ts");
  if (!existsSync(source)) writeFileSync(source, "export function abi_version(): u32 {\n  return 1;\n}\n");
  return build(join(dir, "bare.wasm"), ["bare.ts", "--runtime", "stub", "-O0"], dir);
}
