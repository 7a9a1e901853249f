// The DPDK data path's worker thread: an lcore of its own (rte_thread_register) that polls one
// queue on every port, moving frames between DPDK's mbufs and its core's memory, with the
// kernel UDP sockets beside it (frame-loop.ts). Idle, it sleeps in ppoll() on those sockets,
// 20 µs at first and twice as long each time the queue is still empty, up to a millisecond,
// since nothing wakes it when a frame reaches a DPDK queue.
import { parentPort, workerData } from "node:worker_threads";
import { dpdk } from "../datapath/dpdk/native.js";
import type { WorkerSetup, WorkerReport } from "./messages.js";
import { runWorker } from "./run-worker.js";
import { openFrameCore } from "./frame-core.js";
import { frameLayout } from "../datapath/socket/udp-batch.js";
import { runFrameLoop } from "./frame-loop.js";
import { ModuleSlot } from "./module-slot.js";

// frames go back to the pool once a burst is sent, so a few bursts' worth is plenty
const MIN_FRAMES = 4096;

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (!port) throw new Error("dpdk-worker must run as a worker thread");
  const d = setup.dpdk;
  if (!d) throw new Error("dpdk-worker needs the DPDK ports");
  const native = dpdk();
  const lcore = native.registerThread();
  try {
    const { core, io, kernelPorts, peers } = await openFrameCore(setup, d.ports, d.neighbours, MIN_FRAMES);
    const queues = new native.FrameQueues(
      core.u8,
      frameLayout(core),
      d.ports.map((p) => ({ port: p.dpdkPort, queue: d.queue })),
    );
    const slot = new ModuleSlot(core, port, setup.module);
    port.postMessage({ type: "ready", ports: kernelPorts, lcore, ...slot.describe() } satisfies WorkerReport);
    runFrameLoop(
      core,
      setup,
      io,
      port,
      slot,
      {
        receive: (at, max) => queues.receive(at, max),
        transmit: (at, n) => queues.transmit(at, n),
        idle: (ms) => io.wait(ms) > 0,
        idleMs: 1,
        backoff: true,
        stats: () => [{ ...queues.stats() }],
      },
      peers,
    );
    io.close();
  } finally {
    native.unregisterThread();
  }
  port.postMessage({ type: "stopped" } satisfies WorkerReport);
}

runWorker(main);
