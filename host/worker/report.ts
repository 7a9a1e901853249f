// The stats a data-path worker reports to the control plane, twice a second.
import type { InspectableCore } from "../core/inspectable-core.js";
import { backendCounters, ipv4ToWire, stateChanges } from "../core/backends.js";
import type { WorkerSetup, StatsReport } from "./messages.js";

const HOT_KEYS_REPORTED = 20;

/** What a worker's sends came to: sent, not taken by the kernel or driver, refused by the guard. */
export interface SendCounts {
  sent: bigint;
  failed: bigint;
  refused: number;
}

/** The TCP side's counters (datapath/socket/udp-batch.ts, StreamCounts), when it listens. */
export type TcpCounts = Record<
  | "open"
  | "accepted"
  | "refused"
  | "notAllowed"
  | "closed"
  | "idleClosed"
  | "bytesIn"
  | "bytesOut"
  | "writes"
  | "writeCalls",
  number
>;

/** The TCP backends' counters (datapath/socket/udp-batch.ts, BackendStreamCounts). */
export type BackendTcpCounts = Record<
  "open" | "connects" | "failures" | "lost" | "unsent" | "badReplies" | "replies" | "bytesIn" | "bytesOut",
  number
>;

export function report(
  core: InspectableCore,
  setup: WorkerSetup,
  sends: SendCounts,
  traps: number,
  tcp?: TcpCounts,
  backendTcp?: BackendTcpCounts | false,
): StatsReport {
  const stats: Record<string, number> = {};
  for (const [k, v] of Object.entries(core.stats())) stats[k] = Number(v);
  if (tcp) {
    stats["tcp_open"] = tcp.open;
    stats["tcp_accepted"] = tcp.accepted;
    stats["tcp_refused"] = tcp.refused;
    stats["tcp_not_allowed"] = tcp.notAllowed;
    stats["tcp_closed"] = tcp.closed;
    stats["tcp_idle_closed"] = tcp.idleClosed;
    stats["tcp_bytes_in"] = tcp.bytesIn;
    stats["tcp_bytes_out"] = tcp.bytesOut;
    stats["tcp_writes"] = tcp.writes;
    stats["tcp_write_calls"] = tcp.writeCalls;
  }
  if (backendTcp) {
    stats["tcp_backend_open"] = backendTcp.open;
    stats["tcp_backend_connects"] = backendTcp.connects;
    stats["tcp_backend_failures"] = backendTcp.failures;
    stats["tcp_backend_lost"] = backendTcp.lost;
    stats["tcp_backend_unsent"] = backendTcp.unsent;
    stats["tcp_backend_bad_replies"] = backendTcp.badReplies;
    stats["tcp_backend_replies"] = backendTcp.replies;
    stats["tcp_backend_bytes_in"] = backendTcp.bytesIn;
    stats["tcp_backend_bytes_out"] = backendTcp.bytesOut;
  }
  stats["datagrams_sent"] = Number(sends.sent);
  stats["send_failed"] = Number(sends.failed);
  stats["send_refused"] = sends.refused;
  stats["module_traps"] = traps;
  const frames = setup.afxdp !== undefined || setup.dpdk !== undefined;
  return {
    type: "stats",
    stats,
    backends: backendCounters(core, setup.backends.length).map((c, i) => ({
      requests: Number(c.requests),
      replies: Number(c.replies),
      timeouts: Number(c.timeouts),
      outstanding: c.outstanding,
      fails: c.fails,
      changes: stateChanges(core, i),
      admit: c.admit,
      ...(frames
        ? { nextHop: core.exports.neigh_known(ipv4ToWire(setup.backends[i]?.address ?? "0.0.0.0")) === 1 }
        : {}),
    })),
    natUsed: core.exports.nat_used(),
    migrating: core.exports.migrate_open() === 1,
    natEntries: core.config.natEntries,
    l1Count: core.l1Count,
    l1Bytes: core.l1Bytes,
    l2Count: core.l2Count,
    observed: Number(core.total),
    hotKeys: core.hotKeys(HOT_KEYS_REPORTED),
  };
}
