// The module a worker's core runs: swaps the control plane asks for, made between bursts, and
// the way back when a burst traps in a module that was swapped in.
import { readFileSync } from "node:fs";
import type { MessagePort } from "node:worker_threads";
import type { Core } from "../core/core.js";
import { defaultModulePath } from "../core/loader.js";
import { swapModule, rollBackAfterTrap, describeModule, runningShape } from "../core/swap.js";
import type { WorkerReport, ToWorker } from "./messages.js";

export class ModuleSlot {
  /** The module before the last swap: where a trap sends the core back to. */
  private previous: WebAssembly.Module | undefined;
  traps = 0;

  constructor(
    private readonly core: Core,
    private readonly port: MessagePort,
    /** The file the core was loaded from; the default module when undefined. */
    private readonly file = defaultModulePath,
  ) {}

  /** What the ready message tells the control plane: the module, and the shape a new one must fit. */
  describe(): Pick<Extract<WorkerReport, { type: "ready" }>, "module" | "shape"> {
    return { module: describeModule(this.core, readFileSync(this.file)), shape: runningShape(this.core) };
  }

  swap(m: Extract<ToWorker, { type: "swap" }>): void {
    const old = this.core.module;
    try {
      const pauseNs = swapModule(this.core, { module: m.module, info: m.info });
      this.previous = old;
      this.port.postMessage({
        type: "swapped",
        ok: true,
        info: m.info,
        pauseNs: Number(pauseNs),
      } satisfies WorkerReport);
    } catch (e) {
      this.port.postMessage({ type: "swapped", ok: false, error: (e as Error).message } satisfies WorkerReport);
    }
  }

  /**
   * Makes a call into the core; when it traps in a module that was swapped in, goes back to
   * the module before (see trapped) and makes the call again there.
   */
  run(received: number, call: () => void): void {
    try {
      call();
    } catch (e) {
      this.trapped(e, received);
      call();
    }
  }

  /**
   * A call into the core threw. A trap in a module that was swapped in sends the core back to
   * the module before it, with the burst's effects undone (`received` frames wait to be taken
   * again), and the caller runs the burst again. Anything else is the worker's end.
   */
  trapped(e: unknown, received: number): void {
    if (!(e instanceof WebAssembly.RuntimeError) || !this.previous) throw e;
    rollBackAfterTrap(this.core, this.previous, received);
    this.previous = undefined;
    this.traps++;
    this.port.postMessage({ type: "trapped", error: e.message } satisfies WorkerReport);
  }
}
