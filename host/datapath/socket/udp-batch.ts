// The typed face of the udp_batch addon (udp_batch.cc).
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../util/paths.js";
import { KvlbError } from "../../errors.js";
import * as abi from "../../../assembly/abi/abi.js";
import type { Core } from "../../core/core.js";
import { ipv4ToWire, type Backend } from "../../core/backends.js";

export interface BatchLayout {
  rxDesc: number;
  slots: number;
  slotBytes: number;
  slotCount: number;
  outDesc: number;
  outMax: number;
  /** TCP clients' bytes, laid out for the core each burst (0 bytes: no TCP). */
  streamArea?: number;
  streamBytes?: number;
  /** The tx ring, where the core says what it took from each connection. */
  txDesc?: number;
  /** Descriptors a burst may hold. */
  rxMax?: number;
  /** Replies of backends reached over TCP, laid out for the core each burst (0 bytes: none). */
  replyArea?: number;
  replyBytes?: number;
  maxConnections?: number;
  idleSeconds?: number;
  /** Unread bytes a connection may hold: at least its largest request (256 KB by default). */
  inBytes?: number;
}

/** What the TCP side holds to (kvlb.yaml's tcp section). */
export interface TcpLimits {
  maxConnections: number;
  /** A connection with nothing in flight is closed after this long; 0 never. */
  idleSeconds: number;
}

/** How kvlb reaches backends over TCP (kvlb.yaml's tcp.backends). */
export interface BackendTcp {
  /** Persistent connections to each backend. */
  connections: number;
}

/** The TCP backends' counters. */
export interface BackendStreamCounts {
  /** Connections open now, and made so far. */
  open: number;
  connects: number;
  /** Connections that failed or were closed by the backend. */
  failures: number;
  /** Requests that were waiting on a connection that failed: the core times them out. */
  lost: number;
  /** Requests not sent: no connection to their backend was open, or too much was unwritten. */
  unsent: number;
  /** Connections closed because a reply could not be framed (or was larger than the reply area). */
  badReplies: number;
  replies: number;
  bytesIn: number;
  bytesOut: number;
}

/** The TCP side's counters. */
export interface StreamCounts {
  open: number;
  accepted: number;
  refused: number;
  closed: number;
  idleClosed: number;
  /** Connections from a source outside clients.allow, closed at once. */
  notAllowed: number;
  bytesIn: number;
  bytesOut: number;
  /** Writes to TCP connections (clients' and backends') made in bursts, and the system calls that
   * made them: one per burst with io_uring, one per write without. */
  writes: number;
  writeCalls: number;
}

/** Where a frame path's frames live in the core's memory, as its drivers and the guard read them. */
export interface FrameLayout {
  umemOffset: number;
  umemBytes: number;
  frameSize: number;
  /** The free frames: u32 count, u32 capacity, then the frames' offsets in the UMEM. */
  poolOffset: number;
}

export interface UdpBatch {
  /** recvmmsg from both sockets into the slots; returns the descriptors written. */
  receive(): number;
  /** sendmmsg of the first n out descriptors; returns the datagrams sent. */
  send(n: number): number;
  /** poll() for input, at most timeoutMs; 1 when a socket is readable. */
  wait(timeoutMs: number): number;
  /** The bound ports (tcp: 0 without TCP), and the fds to poll for input (one epoll set, readable when any of its sockets is). */
  ports(): { listen: number; tcp: number; backend: number; fds: number[] };
  /** The TCP side's counters. */
  streams(): StreamCounts;
  /** Datagrams to these (address, port) backends go over `connections` TCP connections to each. */
  tcpBackends(pairs: Uint32Array, connections: number): void;
  /** The TCP backends' counters. */
  backendStreams(): BackendStreamCounts;
  /** Only connections from the `allow` (network, mask) pairs are kept (an empty list keeps every
   * one); those from the `admin` pairs (admin.clients) may send flush_all. */
  allowStreams(allow: Uint32Array, admin: Uint32Array): void;
  /** From now on, datagrams go only to these backends and to clients heard from within windowMs. */
  guard(backends: Uint32Array, windowMs: number): void;
  /** The guard also covers frames in this UMEM, sent from these addresses (as in sin_addr). */
  guardFrames(layout: FrameLayout, sources: Uint32Array): void;
  /** Clients of the n received frames at descOff may be answered. */
  sawFrames(descOff: number, n: number): void;
  /** Drops the refused of n tx frames at descOff, their frames back to the pool; returns how many are left. */
  keepFrames(descOff: number, n: number): number;
  /** Datagrams and frames refused by the guard. */
  refused(): number;
  close(): void;
}

type UdpBatchClass = new (
  memory: Uint8Array,
  layout: BatchLayout,
  listenAddress: string,
  listenPort: number,
  backendAddress: string,
  flags: number,
) => UdpBatch;

/** How the listening socket binds. */
export interface ListenOptions {
  /** Joins the other workers' sockets on the same address (SO_REUSEPORT). */
  shared?: boolean;
  /** Binds an address no kernel interface has (IP_FREEBIND): a NIC bound to DPDK serves it. */
  freebind?: boolean;
  /** Also listens for TCP clients on the same address and port, within these limits; their
   * bytes go through the core's host area (loadCore's hostBytes, at least HOST_AREA_BYTES). */
  tcp?: TcpLimits;
  /** Reaches the backends over TCP (then call tcpBackends); their replies go through the host
   * area after the TCP clients' bytes. */
  backendTcp?: BackendTcp;
}

/** Room in the core's memory for one burst of TCP clients' bytes. */
export const STREAM_AREA_BYTES = 4 << 20;
/** Room for one burst of TCP backends' replies: the largest reply kvlb takes is this less 8. */
export const REPLY_AREA_BYTES = 4 << 20;
/** The host area a socket worker's core needs: the clients' bytes, then the backends' replies. */
export const HOST_AREA_BYTES = STREAM_AREA_BYTES + REPLY_AREA_BYTES;

/** The kernel UDP sockets over a core's datagram slots and out ring, bound as the setup says. */
export function openUdpBatch(
  core: Core,
  listen: { address: string; port: number },
  backendBind: string,
  options: ListenOptions = {},
): UdpBatch {
  const UdpBatch = loadUdpBatch();
  return new UdpBatch(
    core.u8,
    {
      rxDesc: core.rx,
      slots: core.region(abi.R_PKT).offset,
      slotBytes: core.config.slotBytes,
      slotCount: core.config.rxSlots,
      outDesc: core.region(abi.R_OUT).offset,
      outMax: core.config.outMax,
      rxMax: core.config.burstMax,
      ...(options.backendTcp
        ? { replyArea: core.hostArea.offset + STREAM_AREA_BYTES, replyBytes: REPLY_AREA_BYTES }
        : {}),
      ...(options.tcp
        ? {
            streamArea: core.hostArea.offset,
            streamBytes: Math.min(core.hostArea.size, STREAM_AREA_BYTES),
            txDesc: core.tx,
            maxConnections: options.tcp.maxConnections,
            // over TCP backends a request may take half the tx buffer (assembly/proxy/stream.ts)
            ...(options.backendTcp ? { inBytes: core.config.txBytes / 2 + 65536 } : {}),
            idleSeconds: options.tcp.idleSeconds,
          }
        : {}),
    },
    listen.address,
    listen.port,
    backendBind,
    (options.shared ? 1 : 0) | (options.freebind ? 2 : 0),
  );
}

const addonPath = join(projectRoot(), "host/datapath/socket/build/Release/udp_batch.node");

function loadUdpBatch(): UdpBatchClass {
  if (!existsSync(addonPath))
    throw new KvlbError("KVLB_NOT_BUILT", "the socket addon is not built (run: bash scripts/setup)");
  const mod = createRequire(import.meta.url)(addonPath) as { UdpBatch: UdpBatchClass };
  return mod.UdpBatch;
}

/** The frames of a core set up for a frame path. */
export function frameLayout(core: Core): FrameLayout {
  const umem = core.region(abi.R_UMEM);
  return {
    umemOffset: umem.offset,
    umemBytes: umem.size,
    frameSize: core.config.frameBytes,
    poolOffset: core.region(abi.R_FPOOL).offset,
  };
}

/** The backends as (address as sin_addr holds it, port) pairs, as the addon takes them. */
function backendPairs(backends: readonly Backend[]): Uint32Array {
  const pairs = new Uint32Array(backends.length * 2);
  backends.forEach((b, i) => {
    pairs[2 * i] = ipv4ToWire(b.address);
    pairs[2 * i + 1] = b.port;
  });
  return pairs;
}

/** Turns on the send guard: the backends of the table, and clients heard from lately. */
export function guardSends(io: UdpBatch, backends: readonly Backend[], requestTimeoutMs: number): void {
  // a reply may come as late as a request's timeout; a client heard from since may be answered
  io.guard(backendPairs(backends), 2 * requestTimeoutMs + 10_000);
}

/** Sends every backend's requests over TCP (the batch was opened with backendTcp). */
export function connectBackends(io: UdpBatch, backends: readonly Backend[], tcp: BackendTcp): void {
  io.tcpBackends(backendPairs(backends), tcp.connections);
}
