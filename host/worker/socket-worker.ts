// The socket data path's worker thread: one core, two UDP sockets, and a loop that moves a
// burst per turn (recvmmsg -> process -> tick when due -> sendmmsg) and sleeps in poll() when
// there is nothing to do. Between bursts it reads control messages and reports its stats.
import { parentPort, workerData, receiveMessageOnPort } from "node:worker_threads";
import * as abi from "../../assembly/shared/abi.js";
import { loadCore } from "../core/loader.js";
import { setBackends, applyBackendControl } from "../core/backends.js";
import { setClientGuard } from "../core/client-guard.js";
import { setFrameAddresses } from "../core/frame-tables.js";
import { openUdpBatch, guardSends } from "../datapath/socket/udp-batch.js";
import { withDefaults } from "../core/config.js";
import type { WorkerSetup, WorkerReport, ToWorker } from "./messages.js";
import { runWorker } from "./run-worker.js";
import { report } from "./report.js";
import { ModuleSlot } from "./module-slot.js";

const TICK_NS = 10_000_000n;
const REPORT_NS = 500_000_000n;
const IDLE_WAIT_MS = 10;

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (!port) throw new Error("socket-worker must run as a worker thread");
  const core = await loadCore({ ...(setup.module ? { module: setup.module } : {}), config: setup.core });
  setBackends(core, setup.backends);
  const io = openUdpBatch(core, setup.listen, setup.backendBind);
  // kvlb's own endpoints, which no request may come from
  setFrameAddresses(core, setup.listen, io.ports().backend);
  if (setup.clients) setClientGuard(core, setup.clients);
  // the core is a module an operator can swap: where its datagrams may go is said out here
  guardSends(io, setup.backends, withDefaults(setup.core).natTimeoutMs);
  const slot = new ModuleSlot(core, port, setup.module);
  port.postMessage({ type: "ready", ports: io.ports(), ...slot.describe() } satisfies WorkerReport);

  // Views made once: the loop writes the clock and reads the out count without a call or an
  // allocation per burst.
  const clock = new BigUint64Array(core.memory.buffer, abi.HEADER_BASE + abi.H_CLOCK, 1);
  const outCountAt = (abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2;
  let nextTick = 0n;
  let nextReport = 0n;
  let sent = 0n;
  let sendShort = 0n;
  const control = (): boolean => {
    for (let msg = receiveMessageOnPort(port); msg; msg = receiveMessageOnPort(port)) {
      const m = msg.message as ToWorker;
      if (m.type === "stop") return true;
      if (m.type === "swap") slot.swap(m);
      else applyBackendControl(core, m);
    }
    return false;
  };
  for (;;) {
    const n = io.receive();
    const now = process.hrtime.bigint();
    clock[0] = now;
    try {
      core.process(n);
    } catch (e) {
      slot.trapped(e, 0); // back on the previous module, which runs the burst again
      core.process(n);
    }
    const ticked = now >= nextTick;
    if (ticked) {
      try {
        core.exports.tick(now);
      } catch (e) {
        slot.trapped(e, 0);
        core.exports.tick(now);
      }
      nextTick = now + TICK_NS;
    }
    const out = core.u32[outCountAt] ?? 0;
    if (out > 0) {
      const s = io.send(out);
      sent += BigInt(s);
      if (s < out) sendShort += BigInt(out - s);
    }
    // control messages (a module swap among them) only once the burst's output is sent: an
    // answer from the cache is sent straight from the cache's memory, which a swap rebuilds
    if (ticked && control()) break;
    if (now >= nextReport) {
      nextReport = now + REPORT_NS;
      port.postMessage(report(core, setup, { sent, failed: sendShort, refused: io.refused() }, slot.traps));
    }
    if (n === 0 && out === 0) {
      io.wait(IDLE_WAIT_MS);
      if (control()) break;
    }
  }
  port.postMessage(report(core, setup, { sent, failed: sendShort, refused: io.refused() }, slot.traps));
  io.close();
  port.postMessage({ type: "stopped" } satisfies WorkerReport);
}

runWorker(main);
