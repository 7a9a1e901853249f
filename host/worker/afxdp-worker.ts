// The AF_XDP data path's worker thread: one core whose memory holds the UMEM, one AF_XDP
// socket per attached interface, and the kernel UDP sockets beside them (frame-loop.ts).
import { parentPort, workerData } from "node:worker_threads";
import { XskSet } from "libbpf-ts";
import { frameLayout } from "../datapath/socket/udp-batch.js";
import type { WorkerSetup, WorkerReport } from "./messages.js";
import { runWorker } from "./run-worker.js";
import { openFrameCore } from "./frame-core.js";
import { runFrameLoop } from "./frame-loop.js";
import { ModuleSlot } from "./module-slot.js";

const RING = 1024;

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (!port) throw new Error("afxdp-worker must run as a worker thread");
  const xdp = setup.afxdp;
  if (!xdp) throw new Error("afxdp-worker needs the AF_XDP ports");
  // every fill and tx ring full, and some to build answers in
  const minFrames = xdp.ports.length * RING * 2 + 1024;
  const { core, io, kernelPorts } = await openFrameCore(setup, xdp.ports, xdp.neighbours, minFrames);
  const xsk = new XskSet(core.u8, { ...frameLayout(core), fillSize: RING, compSize: RING });
  const fds = xdp.ports.map((p) => xsk.add(p.name, p.queue, { rxSize: RING, txSize: RING }).fd);
  const slot = new ModuleSlot(core, port, setup.module);
  port.postMessage({ type: "ready", ports: kernelPorts, xskFds: fds, ...slot.describe() } satisfies WorkerReport);
  runFrameLoop(core, setup, io, port, slot, {
    receive: (at, max) => xsk.receive(at, max),
    transmit: (at, n) => xsk.transmit(at, n),
    idle: (ms, extra) => xsk.wait(ms, extra) > 0,
    idleMs: 10, // the AF_XDP sockets' fds wake it when a frame arrives
    stats: () => xdp.ports.map((_, i) => ({ ...xsk.stats(i) })),
  });
  xsk.close();
  io.close();
  port.postMessage({ type: "stopped" } satisfies WorkerReport);
}

runWorker(main);
