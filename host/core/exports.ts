// The WebAssembly exports the host relies on, with their types. loadCore() checks that each
// one is present before it hands out a Core.
type Fn<A extends unknown[], R> = (...args: A) => R;

export interface CoreExports {
  abi_version: Fn<[], number>;
  plan: Fn<[], number>;
  init: Fn<[], number>;
  process: Fn<[number], number>;
  tick: Fn<[bigint], number>;
  snapshot: Fn<[], number>;
  restore: Fn<[number], number>;
  check_state: Fn<[], number>;
  hash: Fn<[number, number], bigint>;
  detect_count: Fn<[], number>;
  detect_capacity: Fn<[], number>;
  detect_total: Fn<[], bigint>;
  detect_width: Fn<[], bigint>;
  detect_bucket: Fn<[], bigint>;
  detect_estimate: Fn<[bigint], bigint>;
  detect_delta: Fn<[bigint], bigint>;
  detect_report: Fn<[number], number>;
  l1_put: Fn<[number, number, number, number], number>;
  l1_find: Fn<[number, number], number>;
  l1_remove: Fn<[number, number], number>;
  l1_count: Fn<[], number>;
  l1_bytes: Fn<[], number>;
  l1_oldest: Fn<[], number>;
  l1_next: Fn<[number], number>;
  l1_key: Fn<[number], number>;
  l1_key_len: Fn<[number], number>;
  l1_reply: Fn<[number], number>;
  l1_reply_len: Fn<[number], number>;
  l1_state: Fn<[number], number>;
  l1_version: Fn<[number], bigint>;
  l2_put: Fn<[number, number, bigint, number, number], number>;
  l2_find: Fn<[number, number], number>;
  l2_remove: Fn<[number, number], number>;
  l2_set_freq: Fn<[number, number, bigint], number>;
  l2_evict_min: Fn<[], number>;
  l2_min: Fn<[], number>;
  l2_next: Fn<[number], number>;
  l2_count: Fn<[], number>;
  l2_key: Fn<[number], number>;
  l2_key_len: Fn<[number], number>;
  l2_reply: Fn<[number], number>;
  l2_reply_len: Fn<[number], number>;
  l2_state: Fn<[number], number>;
  l2_version: Fn<[number], bigint>;
  l2_freq: Fn<[number], bigint>;
  promote: Fn<[number, number], number>;
  demote: Fn<[number, number, bigint], number>;
  begin_write: Fn<[number, number], bigint>;
  complete_write: Fn<[number, number, bigint, number, number], number>;
  offer: Fn<[number, number, bigint, number, number], number>;
  read_version: Fn<[number, number], bigint>;
  expiry_after: Fn<[bigint, bigint], bigint>;
  set_backends: Fn<[number], number>;
  change_backends: Fn<[number, bigint], number>;
  route_key: Fn<[number, number], number>;
  nat_used: Fn<[], number>;
  set_backend_state: Fn<[number, number], number>;
  purge_cache: Fn<[number], number>;
  probe_backend: Fn<[number], number>;
  migrate_begin: Fn<[number], number>;
  migrate_end: Fn<[], void>;
  migrate_open: Fn<[], number>;
  migrate_keys: Fn<[number], number>;
  process_frames: Fn<[number], number>;
  frame_port: Fn<[number, number, number, number], number>;
  neigh_static: Fn<[number, number, number, number], number>;
  neigh_clear: Fn<[], void>;
  neigh_known: Fn<[number], number>;
  peer_writes: Fn<[number], number>;
  hot_keys: Fn<[number], number>;
  arp_ask: Fn<[number, number], number>;
  detector_kind: Fn<[], number>;
  burst_abandon: Fn<[number], number>;
  snapshot_detector: Fn<[], number>;
  restore_detector: Fn<[number], number>;
  check_detector: Fn<[], number>;
  module_version: Fn<[], number>;
}

export const requiredExports: readonly (keyof CoreExports)[] = [
  "abi_version",
  "plan",
  "init",
  "process",
  "tick",
  "snapshot",
  "restore",
  "check_state",
  "hash",
  "detect_count",
  "detect_capacity",
  "detect_total",
  "detect_width",
  "detect_bucket",
  "detect_estimate",
  "detect_delta",
  "detect_report",
  "l1_put",
  "l1_find",
  "l1_remove",
  "l1_count",
  "l1_bytes",
  "l1_oldest",
  "l1_next",
  "l1_key",
  "l1_key_len",
  "l1_reply",
  "l1_reply_len",
  "l1_state",
  "l1_version",
  "l2_put",
  "l2_find",
  "l2_remove",
  "l2_set_freq",
  "l2_evict_min",
  "l2_min",
  "l2_next",
  "l2_count",
  "l2_key",
  "l2_key_len",
  "l2_reply",
  "l2_reply_len",
  "l2_state",
  "l2_version",
  "l2_freq",
  "promote",
  "demote",
  "begin_write",
  "complete_write",
  "offer",
  "read_version",
  "expiry_after",
  "set_backends",
  "change_backends",
  "route_key",
  "nat_used",
  "set_backend_state",
  "purge_cache",
  "probe_backend",
  "migrate_begin",
  "migrate_end",
  "migrate_open",
  "migrate_keys",
  "process_frames",
  "frame_port",
  "neigh_static",
  "neigh_clear",
  "neigh_known",
  "peer_writes",
  "hot_keys",
  "arp_ask",
  "detector_kind",
  "burst_abandon",
  "snapshot_detector",
  "restore_detector",
  "check_detector",
  "module_version",
];

export function missingExports(exports: WebAssembly.Exports): string[] {
  return requiredExports.filter((name) => typeof exports[name] !== "function");
}
