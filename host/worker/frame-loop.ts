// The loop of a worker whose core handles raw frames (AF_XDP or DPDK), with the kernel UDP
// sockets beside it for what the kernel keeps (reassembled fragments, and datagrams too large
// for a frame or to a next hop not resolved yet). Each turn moves a burst:
// receive -> process_frames -> transmit, one boundary crossing each, never one per frame.
import type { MessagePort } from "node:worker_threads";
import * as abi from "../../assembly/abi/abi.js";
import type { InspectableCore } from "../core/inspectable-core.js";
import { askArp } from "../core/frame-tables.js";
import type { UdpBatch } from "../datapath/socket/udp-batch.js";
import type { WorkerSetup, StatsReport } from "./messages.js";
import { report } from "./report.js";
import type { PeerLink } from "./peer-link.js";
import type { ModuleSlot } from "./module-slot.js";
import { CoreClock, SendTally, controlInbox, applyReload } from "./burst-loop.js";
import { ProbeWatch } from "./probe-watch.js";

export interface FrameDriver {
  /** Received frames as struct xdp_desc at descOff, at most max; returns how many. */
  receive(descOff: number, max: number): number;
  /** Sends n struct xdp_desc from descOff; returns how many the driver took. */
  transmit(descOff: number, n: number): number;
  /** Sleeps until a frame or one of fds may be ready, at most ms; true when an fd woke it. */
  idle(ms: number, fds: number[]): boolean;
  /** How long one idle() may sleep: short when nothing but the timeout can end it. */
  idleMs: number;
  /**
   * Nothing wakes idle() when a frame arrives (DPDK): sleep in steps that start short and double
   * while the queue stays empty, up to idleMs, so that a frame waits about as long as the quiet
   * before it, instead of up to a whole idleMs.
   */
  backoff?: boolean;
  /** Driver counters for the stats report, one entry per port. */
  stats(): Record<string, number>[];
}

const TICK_NS = 10_000_000n;
// Where the core answers ARP itself, it asks for the backends this often (a kernel re-checks a
// neighbour about as often).
const ARP_NS = 1_000_000_000n;
const REPORT_NS = 500_000_000n;
// While frames keep coming, the kernel sockets are read this often: their traffic is rare, and
// an empty recvmmsg is a syscall that cost 6% of the machine when it ran every 16 turns.
const SOCKET_EVERY_NS = 200_000n;
// After a frame, keep polling the rings (no syscall while they are empty) this long before
// sleeping: a wakeup per burst costs more than the spin. Measured on the 2-core VM: 50 µs gave
// +30% in bench:afxdp, 200 µs lost it again by taking the sender's CPU.
const SPIN_NS = 50_000n;
const BACKOFF_FIRST_MS = 0.02;

/**
 * Runs until the control plane says stop; the caller closes the driver and the sockets. With
 * peers, the other workers' write events are taken before each burst that was received, and
 * this core's are published after each call, before anything it queued is sent.
 */
export function runFrameLoop(
  core: InspectableCore,
  setup: WorkerSetup,
  io: UdpBatch,
  port: MessagePort,
  slot: ModuleSlot,
  driver: FrameDriver,
  peers?: PeerLink,
): void {
  const fds = io.ports().fds;
  const clock = new CoreClock(core);
  const tally = new SendTally();
  let nextArp = 0n;
  const control = controlInbox(port, core, slot, (m) => {
    applyReload(core, io, setup, m, port);
    nextArp = 0n; // a backend the reload added is looked for at once, not within the second
  });
  const outCountAt = (abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2;
  const ftxCountAt = (abi.HEADER_BASE + abi.H_FTX_COUNT) >>> 2;
  const ftx = core.region(abi.R_FTX).offset;
  const burst = core.config.burstMax;
  // Sends what the last call into the core queued: frames to the driver (those the send guard
  // lets go), the rest through the kernel.
  const flush = (): void => {
    peers?.publish();
    const queued = core.u32[ftxCountAt] ?? 0;
    const f = queued > 0 ? io.keepFrames(ftx, queued) : 0;
    if (f > 0) tally.add(f, driver.transmit(ftx, f));
    const out = core.u32[outCountAt] ?? 0;
    if (out > 0) tally.add(out, io.send(out));
  };
  const stats = (): StatsReport => {
    const r = report(
      core,
      setup,
      tally.counts(io.refused()),
      slot.traps,
      io.streams(),
      setup.backendTcp && io.backendStreams(),
    );
    r.xsk = driver.stats();
    if (peers) r.stats["peer_ring_waits"] = peers.waits;
    return r;
  };
  const answerArp = setup.frameMode?.answerArp === true;
  // no kernel reaches the backends: the core sends the health checks' probes (health-probes.ts);
  // a reload changes setup.backends
  const probes = answerArp ? new ProbeWatch(core, () => setup.backends.length) : undefined;
  let nextTick = 0n;
  let nextReport = 0n;
  let nextSocket = 0n;
  let lastFrame = 0n;
  let woken = false; // the last idle wait ended because some fd was readable
  let sleepMs = driver.backoff ? BACKOFF_FIRST_MS : driver.idleMs;
  // backends over TCP answer through the sockets: every reply waits for them to be read
  const socketEveryNs = setup.backendTcp ? 0n : SOCKET_EVERY_NS;
  for (;;) {
    const n = driver.receive(core.rx, burst);
    const now = clock.now();
    if (n > 0) {
      io.sawFrames(core.rx, n);
      peers?.take();
      // on a trap, the received frames wait to be taken again by the module before
      slot.run(n, () => core.exports.process_frames(n));
      flush();
    }
    let m = 0;
    if (woken || now >= nextSocket) {
      nextSocket = now + socketEveryNs;
      m = io.receive();
      if (m > 0) {
        peers?.take();
        slot.run(0, () => core.process(m));
        flush();
      }
    }
    if (now >= nextTick) {
      slot.run(0, () => core.exports.tick(now));
      flush();
      nextTick = now + TICK_NS;
      probes?.check((answer) => port.postMessage(answer));
      // control messages (a module swap among them) are taken at this pace, between bursts
      if (control()) break;
      if (answerArp && now >= nextArp) {
        askArp(
          core,
          setup.backends.map((b) => b.address),
        );
        flush();
        nextArp = now + ARP_NS;
      }
    }
    if (now >= nextReport) {
      nextReport = now + REPORT_NS;
      port.postMessage(stats());
      if (control()) break;
    }
    woken = false;
    if (n > 0) {
      lastFrame = now;
      if (driver.backoff) sleepMs = BACKOFF_FIRST_MS;
    } else if (now - lastFrame < SPIN_NS) continue;
    if (n === 0 && m === 0) {
      woken = driver.idle(sleepMs, fds);
      if (driver.backoff) sleepMs = Math.min(sleepMs * 2, driver.idleMs);
      if (control()) break;
    }
  }
  peers?.close();
  port.postMessage(stats());
}
