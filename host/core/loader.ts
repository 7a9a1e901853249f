// Creates the core's memory from the config, instantiates the module, checks its ABI and
// exports, lays out and initialises the state.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as abi from "../../assembly/abi/abi.js";
import { withDefaults, describeConfigError, writeConfigBlock, type CoreConfig } from "./config.js";
import { missingExports, type CoreExports } from "./exports.js";
import { InspectableCore } from "./inspectable-core.js";
import { CoreError, ModuleError } from "../errors.js";
import { projectRoot } from "../util/paths.js";

export const defaultModulePath = join(projectRoot(), "build", "kvlb-core.wasm");

/** The detector modules the build makes (asconfig.json's targets); lossy counting is the default. */
export const detectorModulePaths = {
  lossy: defaultModulePath,
  weighted: join(projectRoot(), "build/modules/weighted.wasm"),
  "space-saving": join(projectRoot(), "build/modules/space-saving.wasm"),
  "count-min": join(projectRoot(), "build/modules/count-min.wasm"),
} as const;

export type DetectorModule = keyof typeof detectorModulePaths;

export interface LoadOptions {
  /** A path to a .wasm file, its bytes, or the module compiled; the release build by default. */
  module?: string | Uint8Array | WebAssembly.Module;
  /** What to call the module in errors. */
  name?: string;
  config?: Partial<CoreConfig>;
  /** Extra bytes above the layout for the host's own buffers. */
  hostBytes?: number;
}

const SCRATCH = 1 << 20;

async function moduleBytes(source: string | Uint8Array): Promise<Uint8Array> {
  if (typeof source !== "string") return source;
  try {
    return new Uint8Array(await readFile(source));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ModuleError(`${source}: no such module (run: npm run build)`);
    throw new ModuleError(`${source}: cannot read (${code ?? String(e)})`);
  }
}

export async function compileModule(bytes: Uint8Array, name: string): Promise<WebAssembly.Module> {
  try {
    return await WebAssembly.compile(new Uint8Array(bytes));
  } catch (e) {
    throw new ModuleError(`${name}: not a WebAssembly module (${(e as Error).message})`);
  }
}

/** Runs a call into a module; a trap becomes a ModuleError that names the module and the call. */
export function trapsIn<T>(name: string, call: string, run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof WebAssembly.RuntimeError) throw new ModuleError(`${name}: traps in ${call} (${e.message})`);
    throw e;
  }
}

export async function loadCore(options: LoadOptions = {}): Promise<InspectableCore> {
  const config = withDefaults(options.config);
  const bad = describeConfigError(config);
  if (bad) throw new ModuleError(`config: ${bad}`);
  const source = options.module ?? defaultModulePath;
  const name = options.name ?? (typeof source === "string" ? source : "module");
  const compiled = source instanceof WebAssembly.Module ? source : await compileModule(await moduleBytes(source), name);
  const memory = new WebAssembly.Memory({ initial: (abi.DYNAMIC_BASE >>> 16) + 1 });
  let instance: WebAssembly.Instance;
  try {
    instance = await WebAssembly.instantiate(compiled, { env: { memory } });
  } catch (e) {
    throw new ModuleError(`${name}: cannot instantiate (${(e as Error).message})`);
  }
  const missing = missingExports(instance.exports);
  if (missing.length > 0) throw new ModuleError(`${name}: missing exports ${missing.join(", ")}`);
  const exports = instance.exports as unknown as CoreExports;
  const version = exports.abi_version();
  if (version !== abi.ABI_VERSION) {
    throw new ModuleError(`${name}: module abi ${version}, host expects ${abi.ABI_VERSION}`);
  }

  writeConfigBlock(memory, config);
  const planned = trapsIn(name, "plan", () => exports.plan());
  if (planned < 0) throw new CoreError(planned, "plan");
  const layoutEnd = new Uint32Array(memory.buffer)[(abi.HEADER_BASE + abi.H_TOTAL) >>> 2] ?? 0;
  const needed = layoutEnd + SCRATCH + (options.hostBytes ?? 0);
  const pages = Math.ceil(needed / abi.WASM_PAGE);
  memory.grow(pages - memory.buffer.byteLength / abi.WASM_PAGE);
  const r = trapsIn(name, "init", () => exports.init());
  if (r < 0) throw new CoreError(r, "init");
  return new InspectableCore(memory, exports, config, layoutEnd, SCRATCH, compiled);
}
