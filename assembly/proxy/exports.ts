// The proxy's exports: the backend table and routing. Datagrams themselves go through process().
import { E_CONFIG, E_NOT_READY, HEADER_BASE, H_STATE, HS_READY } from "../shared/abi";
import { backendsValid, backendsReset, setBackendCount, setRingPoints } from "../route/backends";
import { ketamaBuild, ketamaRoute } from "../route/ketama";
import { natUsed } from "./nat";

// The host has written n backend entries; rebuilds the ring. Returns its points, or E_CONFIG.
export function set_backends(n: u32): i32 {
  if (load<u32>(HEADER_BASE + H_STATE) != HS_READY) return E_NOT_READY;
  if (!backendsValid(n)) return E_CONFIG;
  backendsReset(n);
  setBackendCount(n);
  setRingPoints(0);
  return <i32>ketamaBuild();
}

// The backend index for a key, or -1 with no backends.
export function route_key(key: usize, keyLen: usize): i32 {
  return <i32>ketamaRoute(key, keyLen);
}

export function nat_used(): u32 {
  return natUsed();
}
