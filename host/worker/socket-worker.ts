// The socket data path's worker thread: one core, two UDP sockets, and a loop that moves a
// burst per turn (recvmmsg -> process -> tick when due -> sendmmsg) and sleeps in poll() when
// there is nothing to do. Between bursts it reads control messages and reports its stats.
import { parentPort, workerData } from "node:worker_threads";
import * as abi from "../../assembly/abi/abi.js";
import { loadCore } from "../core/loader.js";
import { setBackends } from "../core/backends.js";
import { setClientGuard, cidrPairs } from "../core/client-guard.js";
import { setFrameAddresses } from "../core/frame-tables.js";
import { openUdpBatch, guardSends, connectBackends, HOST_AREA_BYTES } from "../datapath/socket/udp-batch.js";
import { withDefaults } from "../core/config.js";
import type { WorkerSetup, WorkerReport } from "./messages.js";
import { runWorker } from "./run-worker.js";
import { report } from "./report.js";
import { ModuleSlot } from "./module-slot.js";
import { CoreClock, SendTally, controlInbox, applyReload } from "./burst-loop.js";

const TICK_NS = 10_000_000n;
const REPORT_NS = 500_000_000n;
const IDLE_WAIT_MS = 10;

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (!port) throw new Error("socket-worker must run as a worker thread");
  const core = await loadCore({
    ...(setup.module ? { module: setup.module } : {}),
    config: setup.backendTcp ? { ...setup.core, backendStreams: true } : setup.core,
    hostBytes: HOST_AREA_BYTES,
  });
  setBackends(core, setup.backends);
  const io = openUdpBatch(core, setup.listen, setup.backendBind, {
    ...(setup.tcp ? { tcp: setup.tcp } : {}),
    ...(setup.backendTcp ? { backendTcp: setup.backendTcp } : {}),
  });
  if (setup.backendTcp) connectBackends(io, setup.backends, setup.backendTcp);
  // kvlb's own endpoints, which no request may come from
  setFrameAddresses(core, setup.listen, io.ports().backend);
  if (setup.clients) {
    setClientGuard(core, setup.clients);
    io.allowStreams(cidrPairs(setup.clients.allow), cidrPairs(setup.clients.admin));
  }
  // the core is a module an operator can swap: where its datagrams may go is said out here
  guardSends(io, setup.backends, withDefaults(setup.core).natTimeoutMs);
  const slot = new ModuleSlot(core, port, setup.module);
  port.postMessage({ type: "ready", ports: io.ports(), ...slot.describe() } satisfies WorkerReport);

  const clock = new CoreClock(core);
  const tally = new SendTally();
  // a reload: the settings the core reads as it goes, who may be answered, the ring, then where
  // datagrams and connections may go
  const control = controlInbox(port, core, slot, (m) => applyReload(core, io, setup, m, port));
  const outCountAt = (abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2;
  const stats = (): WorkerReport =>
    report(core, setup, tally.counts(io.refused()), slot.traps, io.streams(), setup.backendTcp && io.backendStreams());
  let nextTick = 0n;
  let nextReport = 0n;
  for (;;) {
    const n = io.receive();
    const now = clock.now();
    slot.run(0, () => core.process(n));
    const ticked = now >= nextTick;
    if (ticked) {
      slot.run(0, () => core.exports.tick(now));
      nextTick = now + TICK_NS;
    }
    const out = core.u32[outCountAt] ?? 0;
    // sent even with nothing queued: the TCP side learns what the core took from each connection
    if (out > 0 || n > 0) tally.add(out, io.send(out));
    // control messages (a module swap among them) only once the burst's output is sent
    if (ticked && control()) break;
    if (now >= nextReport) {
      nextReport = now + REPORT_NS;
      port.postMessage(stats());
    }
    if (n === 0 && out === 0) {
      io.wait(IDLE_WAIT_MS);
      if (control()) break;
    }
  }
  port.postMessage(stats());
  io.close();
  port.postMessage({ type: "stopped" } satisfies WorkerReport);
}

runWorker(main);
