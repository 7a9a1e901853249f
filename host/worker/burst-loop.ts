// What every data-path worker's loop does around its bursts, whichever driver moves them: the
// clock it writes into the core, the control messages it takes between bursts, and the count
// of what it sent. The socket worker and the frame loop share these.
import { receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "../core/core.js";
import { applyBackendControl, changeBackends } from "../core/backends.js";
import { beginWindow, hotKeysToMove, moveKeys } from "../core/migration.js";
import { setNeighbours } from "../core/frame-tables.js";
import type { ModuleSlot } from "./module-slot.js";
import type { ToWorker, WorkerReport, ReloadMessage, WorkerSetup } from "./messages.js";
import { setLiveSettings } from "../core/config.js";
import { setClientGuard, cidrPairs } from "../core/client-guard.js";
import { guardSends, connectBackends, type UdpBatch } from "../datapath/socket/udp-batch.js";
import type { SendCounts } from "./report.js";

/** The core's clock, written once per burst through a view made once: no call, no allocation. */
export class CoreClock {
  private readonly view: BigUint64Array;

  constructor(core: Core) {
    this.view = new BigUint64Array(core.memory.buffer, abi.HEADER_BASE + abi.H_CLOCK, 1);
  }

  /** Reads the monotonic clock, gives it to the core, and returns it. */
  now(): bigint {
    const now = process.hrtime.bigint();
    this.view[0] = now;
    return now;
  }
}

/** What a worker asked its drivers to send, and what they took. */
export class SendTally {
  private sent = 0n;
  private failed = 0n;

  /** `asked` datagrams or frames were handed over, and `took` were taken. */
  add(asked: number, took: number): void {
    this.sent += BigInt(took);
    if (took < asked) this.failed += BigInt(asked - took);
  }

  counts(refused: number): SendCounts {
    return { sent: this.sent, failed: this.failed, refused };
  }
}

/**
 * A reload, between bursts: the backend table and ring first (what the core may refuse), then the
 * settings it reads as it goes, who may be answered, and where datagrams and connections may go.
 * Answers `port` with the ring's points, or why it could not.
 */
export function applyReload(core: Core, io: UdpBatch, setup: WorkerSetup, m: ReloadMessage, port: MessagePort): void {
  try {
    // the caches are dropped with the old table: their hot keys are the mover's first copies
    const hot = (m.migrateMs ?? 0) > 0 ? hotKeysToMove(core) : [];
    if (m.migrateMs !== undefined) beginWindow(core, m.migrateMs);
    const points = changeBackends(core, m.slots, m.keep);
    if (hot.length > 0) moveKeys(core, hot);
    setup.backends = m.slots;
    setLiveSettings(core, m.live);
    setup.core = { ...setup.core, ...m.live };
    if (m.clients) {
      setClientGuard(core, m.clients);
      io.allowStreams(cidrPairs(m.clients.allow), cidrPairs(m.clients.admin));
      setup.clients = m.clients;
    }
    guardSends(io, m.slots, m.live.natTimeoutMs);
    if (setup.backendTcp) connectBackends(io, m.slots, setup.backendTcp);
    port.postMessage({ type: "reloaded", ok: true, points } satisfies WorkerReport);
  } catch (e) {
    port.postMessage({ type: "reloaded", ok: false, error: (e as Error).message } satisfies WorkerReport);
  }
}

/**
 * Takes every control message waiting on `port`: module swaps, backend states and purges, and
 * next hops (for a frame core). Returns true when the control plane says stop. Call it only
 * between bursts, once a burst's output is sent: a cache hit is sent from the cache's memory,
 * which a swap rebuilds.
 */
export function controlInbox(
  port: MessagePort,
  core: Core,
  slot: ModuleSlot,
  reload?: (m: ReloadMessage) => void,
): () => boolean {
  return () => {
    for (let msg = receiveMessageOnPort(port); msg; msg = receiveMessageOnPort(port)) {
      const m = msg.message as ToWorker;
      if (m.type === "stop") return true;
      if (m.type === "swap") slot.swap(m);
      else if (m.type === "reload") {
        if (reload) reload(m);
        else
          port.postMessage({
            type: "reloaded",
            ok: false,
            error: "a reload needs kvlb run's socket data path (restart kvlb attach or the DPDK path instead)",
          } satisfies WorkerReport);
      } else if (m.type === "neighbours") setNeighbours(core, m.neighbours);
      else if (m.type === "move") moveKeys(core, m.keys);
      else if (m.type === "migrate-end") core.exports.migrate_end();
      else applyBackendControl(core, m);
    }
    return false;
  };
}
