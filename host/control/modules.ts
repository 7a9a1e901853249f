// The control plane's side of the module swap: it prepares a module against the running
// workers' shape, has every worker swap to it, and keeps the module before, for a rollback. A
// swap that some worker refuses is undone on the workers that took it, so that all of them
// run one module.
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import type { Balancer, WorkerModule } from "../balancer/balancer.js";
import { defaultModulePath } from "../core/loader.js";
import { prepareModule, type ModuleInfo, type PreparedModule } from "../core/swap.js";
import { prepareModuleIsolated } from "../core/prepare-isolated.js";
import { ModuleError } from "../errors.js";
import { SwapBusyError } from "../errors.js";

export interface SwapReport {
  module: ModuleInfo;
  workers: number;
  /** The pause of each worker, in µs. */
  pausesUs: number[];
}

export interface ModuleStatus {
  current: ModuleInfo;
  previous?: ModuleInfo;
  workers: (WorkerModule & { worker: number })[];
}

/** Larger than any core module (they are about 60 KB): a body past this is refused unread. */
export const MAX_MODULE_BYTES = 8 << 20;

export class ModuleControl {
  private current: PreparedModule | undefined;
  private previous: PreparedModule | undefined;
  private busy = false;

  constructor(
    private readonly balancer: Balancer,
    private readonly log?: Logger,
  ) {}

  /** The module the workers started with, prepared so that a rollback can return to it. */
  private async initial(): Promise<PreparedModule> {
    if (!this.current) {
      const bytes = new Uint8Array(await readFile(this.balancer.setup.module ?? defaultModulePath));
      this.current = await prepareModule(bytes, "the running module", this.balancer.shape);
    }
    return this.current;
  }

  /** Prepares `bytes` (named `name` in errors) and swaps every worker to it. */
  async swap(bytes: Uint8Array, name: string): Promise<SwapReport> {
    try {
      if (bytes.length > MAX_MODULE_BYTES) throw new ModuleError(`${name}: ${bytes.length} bytes is not a core module`);
      const next = await prepareModuleIsolated(bytes, name, this.balancer.shape);
      return await this.exclusive(() => this.apply(next));
    } catch (e) {
      this.log?.warn({ module: name, error: (e as Error).message }, "module swap refused; the running module goes on");
      throw e;
    }
  }

  /** Swaps every worker back to the module before the last swap. */
  rollback(): Promise<SwapReport> {
    return this.exclusive(async () => {
      await this.initial();
      if (!this.previous) throw new ModuleError("no module to roll back to: nothing was swapped yet");
      return this.apply(this.previous);
    });
  }

  /** Whether a swap is under way: a new one would be refused, so its body need not be read. */
  get swapping(): boolean {
    return this.busy;
  }

  status(): ModuleStatus {
    const workers = this.balancer.modules().map((m, worker) => ({ worker, ...m }));
    const current = this.current?.info ?? workers[0]?.info;
    if (!current) throw new Error("no worker has reported its module");
    return { current, ...(this.previous ? { previous: this.previous.info } : {}), workers };
  }

  private async exclusive<T>(run: () => Promise<T>): Promise<T> {
    if (this.busy) throw new SwapBusyError();
    this.busy = true;
    try {
      return await run();
    } finally {
      this.busy = false;
    }
  }

  private async apply(next: PreparedModule): Promise<SwapReport> {
    const from = await this.initial();
    const outcomes = await this.balancer.swap(next);
    const refused = outcomes.findIndex((o) => !o.ok);
    if (refused >= 0) {
      // the workers that took it go back, so that every worker runs the same module
      if (outcomes.some((o) => o.ok)) await this.balancer.swap(from);
      const o = outcomes[refused];
      throw new ModuleError(`worker ${refused} refused ${next.info.name}: ${o && !o.ok ? o.error : "?"}`);
    }
    this.previous = from;
    this.current = next;
    this.log?.info(
      {
        module: next.info.name,
        version: next.info.version,
        sha256: next.info.sha256,
        pausesUs: outcomes.map((o) => (o.ok ? o.pauseUs : 0)),
      },
      "swapped the detector module",
    );
    return {
      module: next.info,
      workers: outcomes.length,
      pausesUs: outcomes.map((o) => (o.ok ? o.pauseUs : 0)),
    };
  }
}
