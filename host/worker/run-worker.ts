// Runs a data-path worker's main, and reports a failure to the control plane as one message
// instead of an uncaught exception in the thread.
import { parentPort } from "node:worker_threads";
import type { WorkerReport } from "./messages.js";
import { errorCode } from "../errors.js";

export function runWorker(main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    const code = errorCode(e);
    parentPort?.postMessage({
      type: "error",
      message: e instanceof Error ? e.message : String(e),
      ...(code ? { code } : {}),
    } satisfies WorkerReport);
  });
}
