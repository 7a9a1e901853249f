// The AF_XDP data path's worker thread: one core whose memory holds the UMEM, one AF_XDP
// socket per attached interface, and the kernel UDP sockets beside them for what XDP leaves to
// the kernel (reassembled fragments, and datagrams too large for a frame or to a next hop the
// kernel has yet to resolve). Each turn moves a burst: receive -> process_frames -> transmit.
import { parentPort, workerData, receiveMessageOnPort } from "node:worker_threads";
import { XskSet } from "libbpf-ts";
import * as abi from "../../assembly/shared/abi.js";
import { loadCore } from "../core/loader.js";
import { setBackends } from "../core/backends.js";
import { setFrameAddresses, setFramePort, setNeighbours, macBytes } from "../core/frame-tables.js";
import { openUdpBatch } from "../datapath/socket/udp-batch.js";
import type { WorkerSetup, WorkerReport, ToWorker } from "./messages.js";
import { report } from "./report.js";

const TICK_NS = 10_000_000n;
const REPORT_NS = 500_000_000n;
const IDLE_WAIT_MS = 10;
// While frames keep coming, the kernel sockets are read this often: their traffic (reassembled
// fragments, frames that beat the socket's bind) is rare, and an empty recvmmsg is a syscall
// that cost 6% of the machine when it ran every 16 turns of the spin.
const SOCKET_EVERY_NS = 200_000n;
const RING = 1024;
// After a frame, keep polling the rings (no syscall while they are empty) this long before
// sleeping in poll(): a wakeup per burst costs more than the spin. Measured on the 2-core VM:
// 50 µs gave +30% in bench:afxdp, 200 µs lost it again by taking the sender's CPU.
const SPIN_NS = 50_000n;

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (!port) throw new Error("afxdp-worker must run as a worker thread");
  const xdp = setup.afxdp;
  if (!xdp) throw new Error("afxdp-worker needs the AF_XDP ports");
  const frames = Math.max(setup.core.frames ?? 0, xdp.ports.length * RING * 2 + 1024);
  const core = await loadCore({ config: { ...setup.core, frames, frameBytes: 2048 }, hostBytes: 4096 });
  setBackends(core, setup.backends);
  const io = openUdpBatch(core, setup.listen, setup.backendBind);
  const ports = io.ports();
  setFrameAddresses(core, setup.listen, ports.backend);
  xdp.ports.forEach((p, i) => setFramePort(core, i, { mac: macBytes(p.mac), address: p.address, ifindex: p.ifindex }));
  setNeighbours(core, xdp.neighbours);

  const umem = core.region(abi.R_UMEM);
  const xsk = new XskSet(core.u8, {
    umemOffset: umem.offset,
    umemBytes: umem.size,
    frameSize: core.config.frameBytes,
    poolOffset: core.region(abi.R_FPOOL).offset,
    fillSize: RING,
    compSize: RING,
  });
  const fds = xdp.ports.map((p) => xsk.add(p.name, p.queue, { rxSize: RING, txSize: RING }).fd);
  port.postMessage({ type: "ready", ports, xskFds: fds } satisfies WorkerReport);

  const clock = new BigUint64Array(core.memory.buffer, abi.HEADER_BASE + abi.H_CLOCK, 1);
  const outCountAt = (abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2;
  const ftxCountAt = (abi.HEADER_BASE + abi.H_FTX_COUNT) >>> 2;
  const ftx = core.region(abi.R_FTX).offset;
  const burst = core.config.burstMax;
  let sent = 0n;
  let sendShort = 0n;
  // Sends what the last call into the core queued: frames to their AF_XDP sockets, the rest
  // through the kernel.
  const flush = (): void => {
    const f = core.u32[ftxCountAt] ?? 0;
    if (f > 0) {
      const s = xsk.transmit(ftx, f);
      sent += BigInt(s);
      if (s < f) sendShort += BigInt(f - s);
    }
    const out = core.u32[outCountAt] ?? 0;
    if (out > 0) {
      const s = io.send(out);
      sent += BigInt(s);
      if (s < out) sendShort += BigInt(out - s);
    }
  };
  const control = (): boolean => {
    for (let msg = receiveMessageOnPort(port); msg; msg = receiveMessageOnPort(port)) {
      const m = msg.message as ToWorker;
      if (m.type === "stop") return true;
      if (m.type === "neighbours") setNeighbours(core, m.neighbours);
    }
    return false;
  };
  let nextTick = 0n;
  let nextReport = 0n;
  let nextSocket = 0n;
  let lastFrame = 0n;
  let woken = false; // the last idle wait ended because some fd was readable
  for (;;) {
    const n = xsk.receive(core.rx, burst);
    const now = process.hrtime.bigint();
    clock[0] = now;
    if (n > 0) {
      core.exports.process_frames(n);
      flush();
    }
    let m = 0;
    if (woken || now >= nextSocket) {
      nextSocket = now + SOCKET_EVERY_NS;
      m = io.receive();
      if (m > 0) {
        core.process(m);
        flush();
      }
    }
    if (now >= nextTick) {
      core.exports.tick(now);
      flush();
      nextTick = now + TICK_NS;
    }
    if (now >= nextReport) {
      nextReport = now + REPORT_NS;
      const r = report(core, setup, sent, sendShort);
      r.xsk = xdp.ports.map((_, i) => ({ ...xsk.stats(i) }));
      port.postMessage(r);
      if (control()) break;
    }
    woken = false;
    if (n > 0) lastFrame = now;
    else if (now - lastFrame < SPIN_NS) continue;
    if (n === 0 && m === 0) {
      woken = xsk.wait(IDLE_WAIT_MS, ports.fds) > 0;
      if (control()) break;
    }
  }
  port.postMessage(report(core, setup, sent, sendShort));
  xsk.close();
  io.close();
  port.postMessage({ type: "stopped" } satisfies WorkerReport);
}

main().catch((e: unknown) => {
  parentPort?.postMessage({
    type: "error",
    message: e instanceof Error ? e.message : String(e),
  } satisfies WorkerReport);
});
