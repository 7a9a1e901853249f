// What the control plane and a data-path worker say to each other.
import type { CoreConfig } from "../core/config.js";
import type { Backend } from "../core/backends.js";

export interface WorkerSetup {
  core: Partial<CoreConfig>;
  backends: Backend[];
  listen: { address: string; port: number };
  /** The address the backend socket binds (port chosen by the kernel). */
  backendBind: string;
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
}

export interface StatsReport {
  type: "stats";
  stats: Record<string, number>;
  backends: BackendLoad[];
  natUsed: number;
  natEntries: number;
  l1Count: number;
  l1Bytes: number;
  l2Count: number;
  observed: number;
  hotKeys: HotKey[];
}

export type WorkerReport =
  | { type: "ready"; ports: { listen: number; backend: number } }
  | StatsReport
  | { type: "error"; message: string }
  | { type: "stopped" };

export type ToWorker = { type: "stop" };
