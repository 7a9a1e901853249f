// The proxy's exports: the backend table and routing. Datagrams themselves go through process().
import {
  E_CONFIG,
  E_NOT_READY,
  HEADER_BASE,
  H_STATE,
  HS_READY,
  B_STATE,
  B_OUTSTANDING,
  BK_UP,
  BK_DOWN,
} from "../abi/abi";
import {
  backendsValid,
  backendsReset,
  setBackendCount,
  setRingPoints,
  backendCount,
  backend,
  setBackendState,
  countActive,
  backendRetired,
} from "../route/backends";
import { purge, PURGE_ALL } from "../cache/purge";
import { ketamaBuild, ketamaRoute } from "../route/ketama";
import { natUsed } from "./nat";
import { replicaClear } from "../cache/replicas";
import { wantProbe } from "./probe";
import { oldRingKeep, oldRingDrop, migrating } from "../route/old-ring";
import { moverTake } from "./migrate";
import { clock, regionOffset } from "../layout/header";
import { R_IO } from "../abi/abi";

// The host has written n backend entries; rebuilds the ring. Returns its points, or E_CONFIG.
export function set_backends(n: u32): i32 {
  if (load<u32>(HEADER_BASE + H_STATE) != HS_READY) return E_NOT_READY;
  if (!backendsValid(n)) return E_CONFIG;
  backendsReset(n);
  oldRingDrop(); // a new table: no old owners to ask
  setBackendCount(n);
  countActive();
  setRingPoints(0);
  replicaClear(); // the ring moves: so do the sets' servers
  return <i32>ketamaBuild();
}

// A reload: the host has written n entries again, those with their bit in `keep` over the same
// server (their counters and state left as they were, retired ones among them). Rebuilds the
// ring from the entries not retired; what the caches hold is dropped, since keys change owners.
// In-flight requests keep their entries, so their replies are taken. Returns the ring's points,
// or E_CONFIG.
export function change_backends(n: u32, keep: u64): i32 {
  if (load<u32>(HEADER_BASE + H_STATE) != HS_READY) return E_NOT_READY;
  if (!backendsValid(n)) return E_CONFIG;
  // an entry dropped off the end takes no reply that may still come
  for (let i = n; i < backendCount(); i++) {
    if (!backendRetired(i) || load<u32>(backend(i) + B_OUTSTANDING) != 0) return E_CONFIG;
  }
  backendsReset(n, keep);
  setBackendCount(n);
  countActive();
  setRingPoints(0);
  replicaClear();
  purge(PURGE_ALL);
  return <i32>ketamaBuild();
}

// The backend index for a key, or -1 with no backends.
export function route_key(key: usize, keyLen: usize): i32 {
  return <i32>ketamaRoute(key, keyLen);
}

// The host's health checks say backend b is up (BK_UP) or down (BK_DOWN). A change drops what
// the caches hold for b's keys: a backend that went down may come back empty or changed, and
// while it is down its keys may be served by another. Returns the copies dropped, or E_CONFIG.
export function set_backend_state(b: u32, state: u32): i32 {
  if (b >= backendCount() || backendRetired(b) || (state != BK_UP && state != BK_DOWN)) return E_CONFIG;
  const changed = load<u32>(backend(b) + B_STATE) != state;
  setBackendState(b, state);
  return changed ? <i32>purge(b) : 0;
}

// Drops what the caches hold for backend b's keys (0xffffffff: everything); returns how many.
export function purge_cache(b: u32): i32 {
  if (b != PURGE_ALL && b >= backendCount()) return E_CONFIG;
  return <i32>purge(b);
}

// The health checker's stats, to send to backend b at the next tick (proxy/probe.ts): 0, or
// E_CONFIG.
export function probe_backend(b: u32): i32 {
  if (b >= backendCount()) return E_CONFIG;
  wantProbe(b);
  return 0;
}

export function nat_used(): u32 {
  return natUsed();
}

// A reload is about to change the ring: the ring as it is now stays the old one, for a live
// migration window of `windowMs` (proxy/migrate.ts); 0 closes any window instead. Call it before
// change_backends. Returns 0, or E_NOT_READY.
export function migrate_begin(windowMs: u32): i32 {
  if (load<u32>(HEADER_BASE + H_STATE) != HS_READY) return E_NOT_READY;
  if (windowMs == 0) oldRingDrop();
  else oldRingKeep(clock() + <u64>windowMs * 1000000);
  return 0;
}

// Closes the window: every key is asked of its owner on the ring alone.
export function migrate_end(): void {
  oldRingDrop();
}

// 1 while a window is open.
export function migrate_open(): u32 {
  return migrating() ? 1 : 0;
}

// The mover: takes the keys the host wrote into R_IO as (u8 length, key) records, `bytes` in all,
// to ask their old owners for copies at the next ticks (only the keys that moved). Returns the
// bytes taken: whole records, as room allows; the host hands the rest over later.
export function migrate_keys(bytes: u32): i32 {
  if (load<u32>(HEADER_BASE + H_STATE) != HS_READY) return E_NOT_READY;
  return <i32>moverTake(regionOffset(R_IO), <usize>bytes);
}
