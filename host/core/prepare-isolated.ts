// prepareModule on a thread of its own, with a deadline, for modules the control plane did not
// build: a module that loops in its start function or its init is refused, and the control
// plane (the admin API, signals, the workers' control) goes on.
import { Worker } from "node:worker_threads";
import { ModuleError } from "../errors.js";
import type { PreparedModule, ModuleInfo, RunningShape } from "./swap.js";

export const PREPARE_DEADLINE_MS = 5_000;

type Outcome = { ok: true; module: WebAssembly.Module; info: ModuleInfo } | { ok: false; error: string };

export function prepareModuleIsolated(
  bytes: Uint8Array,
  name: string,
  running: RunningShape,
  deadlineMs = PREPARE_DEADLINE_MS,
): Promise<PreparedModule> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./prepare-worker.js", import.meta.url), {
      workerData: { bytes, name, running },
      resourceLimits: { maxOldGenerationSizeMb: 256 },
    });
    const timer = setTimeout(() => {
      void worker.terminate();
      reject(
        new ModuleError(`${name}: not ready within ${deadlineMs / 1000} s (does its start function or init loop?)`),
      );
    }, deadlineMs);
    const done = (): void => {
      clearTimeout(timer);
      void worker.terminate();
    };
    worker.once("message", (o: Outcome) => {
      done();
      if (o.ok) resolve({ module: o.module, info: o.info });
      else reject(new ModuleError(o.error));
    });
    worker.once("error", (e) => {
      done();
      reject(new ModuleError(`${name}: ${e.message}`));
    });
    worker.once("exit", (code) => {
      clearTimeout(timer);
      reject(new ModuleError(`${name}: its check stopped (exit ${code})`));
    });
  });
}
