// Swapping a running core's module (docs/modules.md). The control plane prepares a module:
// it compiles it, warms it on scratch memory with the running config, and validates it (ABI,
// exports, layout, no trap in init, restore or a burst). A worker then swaps at a burst
// boundary: the old module snapshots its detector into the IO region, the new one is
// instantiated on the same memory and restores it (or, for the same detector, takes the state as
// it lies once check_state agrees). The layout is the same for every module, and the caches'
// code too, so the caches, the NAT table, the frames and everything the kernel points at stay
// where they are. If anything fails, the old module is instantiated again and restores the same
// detector snapshot: it keeps running.
import { createHash } from "node:crypto";
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "./core.js";
import type { CoreExports } from "./exports.js";
import type { CoreConfig } from "./config.js";
import { loadCore, compileModule, trapsIn } from "./loader.js";
import { ModuleError } from "../errors.js";

export const detectorNames: Readonly<Record<number, string>> = {
  1: "lossy",
  2: "weighted-lossy",
  3: "space-saving",
  4: "count-min",
};

export interface ModuleInfo {
  /** The detector it carries. */
  name: string;
  kind: number;
  version: number;
  sha256: string;
  bytes: number;
}

/** What a module must fit to take a running core's place. */
export interface RunningShape {
  config: CoreConfig;
  memoryBytes: number;
  regions: string;
}

export interface PreparedModule {
  module: WebAssembly.Module;
  info: ModuleInfo;
}

const WARM_KEYS = 2048;
const MIB = 1 << 20;

/** The layout version the module wrote, and where it put every region: what a swap keeps. */
function regions(core: Core): string {
  const layout = core.u32[(abi.HEADER_BASE + abi.H_LAYOUT) >>> 2];
  return JSON.stringify({ layout, regions: Array.from({ length: abi.REGION_COUNT }, (_, r) => core.region(r)) });
}

function infoOf(core: Core, bytes: Uint8Array): ModuleInfo {
  const kind = core.exports.detector_kind();
  return {
    name: detectorNames[kind] ?? `detector ${kind}`,
    kind,
    version: core.exports.module_version(),
    sha256: createHash("sha256").update(bytes).digest("hex"),
    bytes: bytes.length,
  };
}

/** What a running core's module is. */
export function describeModule(core: Core, bytes: Uint8Array): ModuleInfo {
  return infoOf(core, bytes);
}

/**
 * Compiles `bytes`, warms the module on scratch memory with the running core's config, and
 * checks that it can take the running core's place. Throws a ModuleError that says why not.
 */
export async function prepareModule(bytes: Uint8Array, name: string, running: RunningShape): Promise<PreparedModule> {
  const module = await compileModule(bytes, name);
  const scratch = await loadCore({ module, name, config: running.config, hostBytes: 4096 });
  const needs = scratch.layoutBytes;
  if (needs > running.memoryBytes) {
    throw new ModuleError(
      `${name}: needs ${(needs / MIB).toFixed(1)} MiB of memory, and the running core has ${(running.memoryBytes / MIB).toFixed(1)} MiB`,
    );
  }
  if (regions(scratch) !== running.regions) {
    const layout = (shape: string): number => (JSON.parse(shape) as { layout: number }).layout;
    throw new ModuleError(
      `${name}: lays out memory differently from the running core (layout ${layout(regions(scratch))}, running ${layout(running.regions)})`,
    );
  }
  // a warm-up: bursts of keys, and the state through snapshot and restore, as a swap will do
  const keys = Array.from({ length: WARM_KEYS }, (_, i) => `warm-${i % 97}-${i % 7 === 0 ? "hot" : i}`);
  trapsIn(name, "a burst", () => scratch.observe(keys));
  const len = trapsIn(name, "snapshot", () => scratch.exports.snapshot());
  if (len < 0) throw new ModuleError(`${name}: snapshot failed (${len})`);
  const r = trapsIn(name, "restore", () => scratch.exports.restore(len));
  if (r < 0) throw new ModuleError(`${name}: restore failed (${r})`);
  const dlen = trapsIn(name, "snapshot_detector", () => scratch.exports.snapshot_detector());
  if (dlen < 0) throw new ModuleError(`${name}: snapshot_detector failed (${dlen})`);
  const dr = trapsIn(name, "restore", () => scratch.exports.restore_detector(dlen));
  if (dr < 0) throw new ModuleError(`${name}: restore_detector failed (${dr})`);
  // both checks, as a swap runs them: what a worker runs first is then compiled already
  if (scratch.exports.check_detector() !== 0 || scratch.checkState() !== 0) {
    throw new ModuleError(`${name}: its state check fails after a warm-up`);
  }
  return { module, info: infoOf(scratch, bytes) };
}

/** The running core's side of prepareModule's checks. */
export function runningShape(core: Core): RunningShape {
  return { config: core.config, memoryBytes: core.memory.buffer.byteLength, regions: regions(core) };
}

// A module's instance on a core's memory, kept for the next time the core runs that module, with
// the image of the module's own memory (below HEADER_BASE: static data, scratch) as its
// instantiation wrote it. Another module's instantiation rewrites that memory; putting the image
// back is a copy, where a new instance costs an allocation and now and then milliseconds.
interface KeptInstance {
  exports: CoreExports;
  image: Uint8Array;
}
const kept = new WeakMap<Core, Map<WebAssembly.Module, KeptInstance>>();

function instantiate(core: Core, module: WebAssembly.Module): CoreExports {
  let instances = kept.get(core);
  if (!instances) kept.set(core, (instances = new Map()));
  const known = instances.get(module);
  if (known) {
    core.u8.set(known.image, 0);
    return known.exports;
  }
  const exports = new WebAssembly.Instance(module, { env: { memory: core.memory } }).exports as unknown as CoreExports;
  instances.set(module, { exports, image: core.u8.slice(0, abi.HEADER_BASE) });
  return exports;
}

/** Puts `module` back on the core's memory with the detector snapshot of `len` bytes in the IO region. */
function reinstate(core: Core, module: WebAssembly.Module, len: number): void {
  const exports = instantiate(core, module);
  if (len > 0 && exports.restore_detector(len) < 0)
    throw new Error("the previous module could not restore its detector");
  if (exports.check_detector() !== 0) throw new Error("the previous module's state check fails");
  core.exports = exports;
  core.module = module;
}

/**
 * Swaps the core to `next` between bursts; returns how long the worker paused, in ns. On
 * failure the old module runs again, with the state it had, and the error says why.
 */
export function swapModule(core: Core, next: PreparedModule): bigint {
  const start = process.hrtime.bigint();
  const old = core.module;
  const sameDetector = core.exports.detector_kind() === next.info.kind;
  let len = 0;
  if (!sameDetector) {
    len = core.exports.snapshot_detector();
    if (len < 0) throw new ModuleError(`the running module could not snapshot its detector (${len})`);
  }
  try {
    const exports = instantiate(core, next.module);
    if (!sameDetector) {
      const r = trapsIn(next.info.name, "restore", () => exports.restore_detector(len));
      if (r < 0) throw new ModuleError(`${next.info.name}: restore failed (${r})`);
    }
    // the whole state as it lies for the same detector; else what the detector snapshot rebuilt
    const check = sameDetector ? (): number => exports.check_state() : (): number => exports.check_detector();
    if (trapsIn(next.info.name, "its state check", check) !== 0) {
      throw new ModuleError(`${next.info.name}: its state check fails on the running state`);
    }
    core.exports = exports;
    core.module = next.module;
  } catch (e) {
    // instantiating the new module rewrote the old one's static data: put the old one back,
    // with the snapshot (the fast path took none: the state lies as the old module left it)
    reinstate(core, old, len);
    throw e;
  }
  return process.hrtime.bigint() - start;
}

/**
 * A burst trapped in the running module: the core goes back to `previous`, carrying the state
 * the trapped module can still snapshot, and the burst's effects are undone so that it can run
 * again (`received` frames in the rx ring; 0 for datagrams).
 */
export function rollBackAfterTrap(core: Core, previous: WebAssembly.Module, received: number): void {
  let len = 0;
  try {
    len = core.exports.snapshot_detector();
  } catch {
    len = -1;
  }
  reinstate(core, previous, len > 0 ? len : 0);
  core.exports.burst_abandon(received);
}
