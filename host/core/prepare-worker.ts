// The thread that prepares a module an operator sent: compiling and warming it runs the
// module's own code (its start function, init, a burst), which may never return. Here it can
// only hang this thread, which the control plane ends at its deadline.
import { parentPort, workerData } from "node:worker_threads";
import { prepareModule, type RunningShape } from "./swap.js";

interface Job {
  bytes: Uint8Array;
  name: string;
  running: RunningShape;
}

const job = workerData as Job;
prepareModule(job.bytes, job.name, job.running).then(
  (prepared) => parentPort?.postMessage({ ok: true, module: prepared.module, info: prepared.info }),
  (e: unknown) => parentPort?.postMessage({ ok: false, error: (e as Error).message, refused: (e as Error).name }),
);
