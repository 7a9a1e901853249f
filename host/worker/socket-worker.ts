// The socket data path's worker thread: one core, two UDP sockets, and a loop that moves a
// burst per turn (recvmmsg -> process -> tick when due -> sendmmsg) and sleeps in poll() when
// there is nothing to do. Between bursts it reads control messages and reports its stats.
import { parentPort, workerData, receiveMessageOnPort } from "node:worker_threads";
import * as abi from "../../assembly/shared/abi.js";
import { loadCore } from "../core/loader.js";
import { setBackends, backendCounters } from "../core/backends.js";
import { loadUdpBatch } from "../datapath/socket/udp-batch.js";
import type { WorkerSetup, WorkerReport, ToWorker, HotKey } from "./messages.js";

const TICK_NS = 10_000_000n;
const REPORT_NS = 500_000_000n;
const IDLE_WAIT_MS = 10;
const HOT_KEYS_REPORTED = 20;

async function main(): Promise<void> {
  const setup = workerData as WorkerSetup;
  const port = parentPort;
  if (!port) throw new Error("socket-worker must run as a worker thread");
  const core = await loadCore({ config: setup.core });
  setBackends(core, setup.backends);
  const UdpBatch = loadUdpBatch();
  const pkt = core.region(abi.R_PKT);
  const io = new UdpBatch(
    core.u8,
    {
      rxDesc: core.rx,
      slots: pkt.offset,
      slotBytes: core.config.slotBytes,
      slotCount: core.config.rxSlots,
      outDesc: core.region(abi.R_OUT).offset,
      outMax: core.config.outMax,
    },
    setup.listen.address,
    setup.listen.port,
    setup.backendBind,
  );
  port.postMessage({ type: "ready", ports: io.ports() } satisfies WorkerReport);

  // Views made once: the loop writes the clock and reads the out count without a call or an
  // allocation per burst.
  const clock = new BigUint64Array(core.memory.buffer, abi.HEADER_BASE + abi.H_CLOCK, 1);
  const outCountAt = (abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2;
  let nextTick = 0n;
  let nextReport = 0n;
  let sent = 0n;
  let sendShort = 0n;
  for (;;) {
    const n = io.receive();
    const now = process.hrtime.bigint();
    clock[0] = now;
    core.process(n);
    if (now >= nextTick) {
      core.exports.tick(now);
      nextTick = now + TICK_NS;
    }
    const out = core.u32[outCountAt] ?? 0;
    if (out > 0) {
      const s = io.send(out);
      sent += BigInt(s);
      if (s < out) sendShort += BigInt(out - s);
    }
    if (now >= nextReport) {
      nextReport = now + REPORT_NS;
      port.postMessage(report(core, setup, sent, sendShort));
      const msg = receiveMessageOnPort(port);
      if (msg && (msg.message as ToWorker).type === "stop") break;
    }
    if (n === 0 && out === 0) {
      io.wait(IDLE_WAIT_MS);
      const msg = receiveMessageOnPort(port);
      if (msg && (msg.message as ToWorker).type === "stop") break;
    }
  }
  port.postMessage(report(core, setup, sent, sendShort));
  io.close();
  port.postMessage({ type: "stopped" } satisfies WorkerReport);
}

function report(
  core: Awaited<ReturnType<typeof loadCore>>,
  setup: WorkerSetup,
  sent: bigint,
  sendShort: bigint,
): WorkerReport {
  const hot: HotKey[] = [];
  for (const key of core.l1Keys()) hot.push({ key, estimate: Number(core.estimate(key)), layer: "L1" });
  // An L2 key the detector has since pruned is cached but no longer counted: not a top key.
  for (const { key } of core.l2Entries()) {
    const estimate = Number(core.estimate(key));
    if (estimate > 0) hot.push({ key, estimate, layer: "L2" });
  }
  hot.sort((a, b) => b.estimate - a.estimate);
  const stats: Record<string, number> = {};
  for (const [k, v] of Object.entries(core.stats())) stats[k] = Number(v);
  stats["datagrams_sent"] = Number(sent);
  stats["send_failed"] = Number(sendShort);
  return {
    type: "stats",
    stats,
    backends: backendCounters(core, setup.backends.length).map((c) => ({
      requests: Number(c.requests),
      replies: Number(c.replies),
      timeouts: Number(c.timeouts),
      outstanding: c.outstanding,
    })),
    natUsed: core.exports.nat_used(),
    natEntries: core.config.natEntries,
    l1Count: core.l1Count,
    l1Bytes: core.l1Bytes,
    l2Count: core.l2Count,
    observed: Number(core.total),
    hotKeys: hot.slice(0, HOT_KEYS_REPORTED),
  };
}

main().catch((e: unknown) => {
  parentPort?.postMessage({
    type: "error",
    message: e instanceof Error ? e.message : String(e),
  } satisfies WorkerReport);
});
