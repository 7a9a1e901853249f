// /stats: the worker's report shaped for an operator: per backend, the caches, the NAT table,
// and the drops by reason.
import type { StatsReport, WorkerSetup } from "../worker/messages.js";
import type { BackendHealthView } from "./health.js";
import type { ReloadStatus, MigrationProgress } from "./reload-status.js";

function withoutName(h: BackendHealthView): Omit<BackendHealthView, "backend"> {
  return Object.fromEntries(Object.entries(h).filter(([k]) => k !== "backend")) as Omit<BackendHealthView, "backend">;
}

export interface StatsView {
  listen: string;
  backends: {
    backend: string;
    weight: number;
    requests: number;
    replies: number;
    timeouts: number;
    outstanding: number;
    /** Requests that timed out in a row. */
    fails: number;
    /** The adaptive hot set's bar for its keys: the share of the warm threshold they must reach
     * to enter L2 (1 as configured; lower while this backend is over the imbalance bound). */
    admit?: number;
    /** On the frame paths: its next hop is known, so requests to it leave as frames. */
    nextHop?: boolean;
    /** The health checks' verdict (kvlb run/attach); absent where there are none. */
    health?: Omit<BackendHealthView, "backend">;
  }[];
  /** Backends a reload took off the ring that still have requests in flight (their replies are
   * still taken); those drained are not listed. */
  retired: { backend: string; outstanding: number }[];
  /** Reloads applied and refused, and the last one (kvlb run and attach). */
  reload?: ReloadStatus;
  cache: {
    l1Hits: number;
    l1Misses: number;
    l2Hits: number;
    l2Misses: number;
    hitRatio: number;
    l1Keys: number;
    l1Bytes: number;
    l2Keys: number;
    fills: number;
    staleFillsRefused: number;
    /** Copies dropped because their item's expiry came. */
    expired: number;
    /** Copies dropped by a purge: a backend down, back, restarted or flushed; kvlb flush. */
    purged: number;
    /** kvlb's own asks for a value and its TTL. */
    fillRequests: number;
    /** Gets of a cached key that waited for the write in flight on it, rather than add to its server's load. */
    readsParked: number;
    /** Of those, the ones the cache answered once the write was acknowledged. */
    parkedFromCache: number;
  };
  /** Live migration after reloads that moved keys (docs/balancer.md, Live migration). */
  migration: {
    /** Whether a window is open now: moved keys are still looked for at their old servers. */
    open: boolean;
    /** Gets of moved keys their new server missed, answered by their old one. */
    fallbacks: number;
    /** Gets of moved keys asked again of their new server, a write of the key having overlapped them. */
    retries: number;
    /** kvlb's reads of moved keys' values at their old servers, and the copies the new ones stored. */
    reads: number;
    copied: number;
    /** Copies the new server did not store (it had the key already) or did not answer. */
    notCopied: number;
    /** Deletes at old servers after clients' writes of moved keys. */
    oldDeletes: number;
    /** Deletes of moved keys refused (SERVER_ERROR, try again) while their copy was in flight. */
    busy: number;
    /** The last reload's moved ranges and the mover's progress, once a reload opened a window. */
    last?: MigrationProgress;
  };
  /** Hot keys' replica sets: copies on the next servers of the ring that share the key's reads. */
  replicas: {
    /** Sets made for keys that grew hot enough, and retired once they cooled. */
    made: number;
    retired: number;
    /** Copies kvlb wrote to replica servers, from fills and from clients' sets. */
    copiesWritten: number;
    /** kvlb's reads of a key's value from its own server, to write its copies. */
    fills: number;
    /** Clients' sets whose value kvlb also wrote to the key's copies, keeping them current. */
    setsCopied: number;
    /** Gets a copy answered in the place of the key's own server. */
    reads: number;
    /** Gets a copy missed (evicted, flushed, restarted), sent on to the key's own server. */
    fallbacks: number;
  };
  hotKeys: number;
  keysObserved: number;
  nat: { used: number; capacity: number; overflow: number; timeouts: number };
  datagrams: {
    fromClients: number;
    fromBackends: number;
    forwarded: number;
    /** Requests sent to the next server up because their own was down. */
    failedOver: number;
    answeredFromCache: number;
    sent: number;
    sendFailed: number;
    /** Datagrams the core queued for a destination that is neither a backend nor a client heard from. */
    sendRefused: number;
    reservedNotZero: number;
  };
  /** Clients over TCP: connections and the requests taken from them. */
  tcp: {
    open: number;
    accepted: number;
    /** Over the connection limit, or from a source outside clients.allow: closed at once. */
    refused: number;
    notAllowed: number;
    closed: number;
    idleClosed: number;
    requests: number;
    /** Closed for a line kvlb could not frame. */
    closedMalformed: number;
    bytesIn: number;
    bytesOut: number;
    /** Writes to TCP connections, clients' and backends', and the system calls that made them
     * (with io_uring, one per burst). */
    writes: number;
    writeCalls: number;
  };
  /** Backends over TCP (tcp.backends): all zero when they are reached over UDP. */
  tcpBackends: {
    open: number;
    connects: number;
    failures: number;
    /** Requests waiting on a connection that failed; the core answered them as timed out. */
    lost: number;
    /** Requests not sent: no connection to their backend was open. */
    unsent: number;
    /** Connections closed for a reply that could not be framed. */
    badReplies: number;
    replies: number;
    bytesIn: number;
    bytesOut: number;
  };
  drops: Record<string, number>;
  errors: {
    clientErrors: number;
    unknownCommands: number;
    refusedCommands: number;
    serverErrors: number;
    noBackend: number;
  };
  /** The AF_XDP frame layer (kvlb attach); absent on the socket path. */
  frames?: {
    received: number;
    sent: number;
    malformed: number;
    badChecksum: number;
    notOurs: number;
    ipv6: number;
    noNextHop: number;
    /** Backends whose next hop every worker knows. */
    nextHopsKnown: number;
    viaSocket: number;
    poolEmpty: number;
    /** Backend replies seen as frames but taken from the kernel socket (several workers, af_packet). */
    repliesViaKernel: number;
    /** Requests the kernel socket also saw (af_packet), left to the frame path. */
    kernelCopies: number;
  };
  /** With several workers: writes told to the other workers (begins and ends), and heard from them. */
  writeEvents?: { told: number; heard: number; ringWaits: number };
  /** With several workers, each one's share; everything above is their sum. */
  workers?: WorkerView[];
}

export type WorkerView = { worker: number; requests: number } & Pick<
  StatsView,
  "cache" | "nat" | "datagrams" | "drops" | "frames" | "keysObserved" | "writeEvents"
>;

function workerView(setup: WorkerSetup, r: StatsReport, worker: number): WorkerView {
  const v = statsView(setup, r);
  return {
    worker,
    requests: v.backends.reduce((a, b) => a + b.requests, 0),
    keysObserved: v.keysObserved,
    cache: v.cache,
    nat: v.nat,
    datagrams: v.datagrams,
    drops: v.drops,
    ...(v.frames ? { frames: v.frames } : {}),
    ...(v.writeEvents ? { writeEvents: v.writeEvents } : {}),
  };
}

export function statsView(
  setup: WorkerSetup,
  r: StatsReport,
  health?: readonly BackendHealthView[],
  reload?: ReloadStatus,
): StatsView {
  const s = (k: string): number => r.stats[k] ?? 0;
  const keys = s("keys");
  return {
    listen: `${setup.listen.address}:${setup.listen.port}`,
    // the backends on the ring (a reload's retired entries, still draining, are not listed)
    backends: setup.backends.flatMap((b, i) => {
      if (b.retired) return [];
      const name = `${b.host}:${b.port}`;
      const h = health?.find((v) => v.backend === name);
      return [
        {
          backend: name,
          weight: b.weight,
          ...(r.backends[i] ?? { requests: 0, replies: 0, timeouts: 0, outstanding: 0, fails: 0 }),
          ...(h ? { health: withoutName(h) } : {}),
        },
      ];
    }),
    retired: setup.backends.flatMap((b, i) => {
      const outstanding = r.backends[i]?.outstanding ?? 0;
      return b.retired && outstanding > 0 ? [{ backend: `${b.host}:${b.port}`, outstanding }] : [];
    }),
    ...(reload ? { reload } : {}),
    cache: {
      l1Hits: s("l1_hits"),
      l1Misses: s("l1_misses"),
      l2Hits: s("l2_hits"),
      l2Misses: s("l2_misses"),
      hitRatio: keys === 0 ? 0 : s("cache_replies") / keys,
      l1Keys: r.l1Count,
      l1Bytes: r.l1Bytes,
      l2Keys: r.l2Count,
      fills: s("fills"),
      staleFillsRefused: s("stale_fills"),
      expired: s("expired"),
      purged: s("purged"),
      fillRequests: s("fill_requests"),
      readsParked: s("reads_parked"),
      parkedFromCache: s("parked_from_cache"),
    },
    migration: {
      open: r.migrating === true,
      fallbacks: s("migrate_fallbacks"),
      retries: s("migrate_retries"),
      reads: s("migrate_reads"),
      copied: s("migrate_copies"),
      notCopied: s("migrate_not_copied"),
      oldDeletes: s("migrate_old_deletes"),
      busy: s("migrate_busy"),
      ...(reload?.migration ? { last: reload.migration } : {}),
    },
    replicas: {
      made: s("replica_sets"),
      retired: s("replica_drops"),
      copiesWritten: s("replica_copies"),
      fills: s("replica_fills"),
      setsCopied: s("replica_fanouts"),
      reads: s("replica_reads"),
      fallbacks: s("replica_fallbacks"),
    },
    hotKeys: r.hotKeys.filter((k) => k.layer === "L1").length,
    keysObserved: keys,
    nat: { used: r.natUsed, capacity: r.natEntries, overflow: s("nat_overflow"), timeouts: s("nat_timeouts") },
    datagrams: {
      fromClients: s("client_datagrams"),
      fromBackends: s("backend_datagrams"),
      forwarded: s("forwarded"),
      failedOver: s("failovers"),
      answeredFromCache: s("cache_replies"),
      sent: s("datagrams_sent"),
      sendFailed: s("send_failed"),
      sendRefused: s("send_refused"),
      reservedNotZero: s("frame_reserved"),
    },
    tcp: {
      open: s("tcp_open"),
      accepted: s("tcp_accepted"),
      refused: s("tcp_refused"),
      notAllowed: s("tcp_not_allowed"),
      closed: s("tcp_closed"),
      idleClosed: s("tcp_idle_closed"),
      requests: s("stream_requests"),
      closedMalformed: s("stream_closed"),
      bytesIn: s("tcp_bytes_in"),
      bytesOut: s("tcp_bytes_out"),
      writes: s("tcp_writes"),
      writeCalls: s("tcp_write_calls"),
    },
    tcpBackends: {
      open: s("tcp_backend_open"),
      connects: s("tcp_backend_connects"),
      failures: s("tcp_backend_failures"),
      lost: s("tcp_backend_lost"),
      unsent: s("tcp_backend_unsent"),
      badReplies: s("tcp_backend_bad_replies"),
      replies: s("tcp_backend_replies"),
      bytesIn: s("tcp_backend_bytes_in"),
      bytesOut: s("tcp_backend_bytes_out"),
    },
    drops: {
      frame: s("drop_frame"),
      tooLarge: s("drop_too_large"),
      incomplete: s("drop_incomplete"),
      stray: s("drop_stray"),
      outFull: s("drop_out_full"),
      late: s("late_replies"),
      notAllowed: s("drop_not_allowed"),
      reflected: s("drop_reflected"),
      overBudget: s("drop_budget"),
    },
    errors: {
      clientErrors: s("client_errors"),
      unknownCommands: s("unknown_commands"),
      refusedCommands: s("refused_commands"),
      serverErrors: s("server_errors"),
      noBackend: s("no_backend"),
    },
    ...(setup.afxdp || setup.dpdk
      ? {
          frames: {
            received: s("frames_rx"),
            sent: s("frames_tx"),
            malformed: s("frame_malformed"),
            badChecksum: s("frame_bad_checksum"),
            notOurs: s("frame_not_ours"),
            ipv6: s("frame_ipv6"),
            noNextHop: s("frame_no_neigh"),
            nextHopsKnown: r.backends.filter((b) => b.nextHop === true).length,
            viaSocket: s("frame_via_socket"),
            poolEmpty: s("frame_pool_empty"),
            repliesViaKernel: s("frame_reply_via_kernel"),
            kernelCopies: s("socket_duplicate"),
          },
        }
      : {}),
    ...(setup.peers
      ? { writeEvents: { told: s("peer_events_out"), heard: s("peer_events_in"), ringWaits: s("peer_ring_waits") } }
      : {}),
    ...(r.workers ? { workers: r.workers.map((w, i) => workerView(setup, w, i)) } : {}),
  };
}
