// What the control plane and a data-path worker say to each other.
import type { TcpLimits, BackendTcp } from "../datapath/socket/udp-batch.js";
import type { CoreConfig, LiveConfig } from "../core/config.js";
import type { BackendSlot } from "../core/backends.js";
import type { Neighbour, FrameMode } from "../core/frame-tables.js";
import type { PeerRings } from "./peer-link.js";
import type { ModuleInfo } from "../core/swap.js";
import type { ErrorCode } from "../errors.js";

/** One AF_XDP port: an interface's queue, with the addresses the frame layer writes from. */
export interface FramePortSetup {
  name: string;
  queue: number;
  ifindex: number;
  mac: string;
  address: string;
}

export interface WorkerSetup {
  core: Partial<CoreConfig>;
  /** The backend table; after a reload, retired entries among them (core/backends.ts). */
  backends: BackendSlot[];
  listen: { address: string; port: number };
  /** The address the backend socket binds (port chosen by the kernel). */
  backendBind: string;
  /** The AF_XDP data path: one socket per port, all on one UMEM in the core's memory. */
  afxdp?: { ports: FramePortSetup[]; neighbours: Neighbour[] };
  /** The DPDK data path: this worker polls `queue` on every port (DPDK port ids beside). */
  dpdk?: { ports: (FramePortSetup & { dpdkPort: number })[]; queue: number; neighbours: Neighbour[] };
  /** How the frame path shares its ports with the kernel and the other workers. */
  frameMode?: FrameMode;
  /** The core module to start with (a .wasm path); lossy counting's by default. */
  module?: string;
  /** Who may be answered (config/clients.ts); every source when absent. */
  clients?: { allow: { network: string; bits: number }[]; admin: { network: string; bits: number }[]; own: string[] };
  /** Clients over TCP on the listen address and port, within these limits; no TCP when absent. */
  tcp?: TcpLimits;
  /** Backends reached over TCP (the socket data path); over UDP when absent. */
  backendTcp?: BackendTcp;
  /** One of several workers: the write-event rings they share, and this worker's index. */
  peers?: { rings: PeerRings; index: number };
}

export interface HotKey {
  key: string;
  estimate: number;
  layer: "L1" | "L2";
}

export interface BackendLoad {
  requests: number;
  replies: number;
  timeouts: number;
  outstanding: number;
  /** Requests that timed out in a row. */
  fails: number;
  /** The state changes (down, up) of this backend the core had applied when it counted them. */
  changes: number;
  /** The adaptive hot set's bar for the backend's keys (1: the configured warm share). */
  admit?: number;
  /** On the frame paths: the core knows the backend's next hop, so requests to it leave as
   * frames; until then they go through the kernel's socket. */
  nextHop?: boolean;
}

export interface StatsReport {
  type: "stats";
  stats: Record<string, number>;
  backends: BackendLoad[];
  natUsed: number;
  /** Whether the core's live migration window is open. */
  migrating?: boolean;
  natEntries: number;
  l1Count: number;
  l1Bytes: number;
  l2Count: number;
  observed: number;
  hotKeys: HotKey[];
  /** The frame driver's counters (AF_XDP sockets' or DPDK queues'), one entry per port. */
  xsk?: Record<string, number>[];
  /** With several workers, the sum above is of these, one report per worker. */
  workers?: StatsReport[];
}

/** What a module must fit to take a running core's place (host/core/swap.ts). */
export interface CoreShape {
  config: CoreConfig;
  memoryBytes: number;
  regions: string;
}

export type WorkerReport =
  | {
      type: "ready";
      ports: { listen: number; backend: number };
      xskFds?: number[];
      lcore?: number;
      module: ModuleInfo;
      shape: CoreShape;
    }
  | StatsReport
  | { type: "error"; message: string; code?: ErrorCode }
  | { type: "swapped"; ok: true; info: ModuleInfo; pauseNs: number }
  | { type: "swapped"; ok: false; error: string }
  | { type: "trapped"; error: string }
  | ProbeAnswer
  /** A reload took effect (the ring's points), or could not. */
  | { type: "reloaded"; ok: true; points: number }
  | { type: "reloaded"; ok: false; error: string }
  | { type: "stopped" };

/** A backend answered the `stats` the core sent it (ports no kernel serves: health-probes.ts). */
export interface ProbeAnswer {
  type: "probe-answer";
  backend: number;
  pid: number;
  uptime: number;
  cmdFlush: number;
}

export type ToWorker =
  | { type: "stop" }
  | { type: "neighbours"; neighbours: Neighbour[] }
  | { type: "swap"; module: WebAssembly.Module; info: ModuleInfo }
  /** The migration mover's keys: each one that moved is copied from its old owner to its new. */
  | { type: "move"; keys: string[] }
  /** The mover is done: the live migration window closes. */
  | { type: "migrate-end" }
  /** The health checks' verdict on a backend: the core routes by it. */
  | { type: "backend-state"; backend: number; up: boolean }
  /** Drop what the caches hold for a backend's keys, or for all keys. */
  | { type: "purge"; backend: number | "all" }
  /** Send the health checker's `stats` to a backend, from the core (where no kernel can). */
  | { type: "probe"; backend: number }
  /** A reload (host/control/reload.ts), applied between bursts. */
  | ReloadMessage;

/** What a reload changes in a running worker: the backend table (host/control/backend-slots.ts),
 * the settings the core reads as it goes (core/config.ts, liveConfigKeys), and who may be answered. */
export interface ReloadMessage {
  type: "reload";
  slots: BackendSlot[];
  keep: bigint;
  live: LiveConfig;
  clients?: WorkerSetup["clients"];
  /** When the ring moves keys: the live migration window for them (host/core/migration.ts), in
   * ms (0: none); absent leaves an open window as it is. */
  migrateMs?: number;
}
