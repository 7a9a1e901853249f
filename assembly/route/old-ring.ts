// A live migration's view of the ring as it was before a reload changed it: the owner a key had
// then. The ring is copied whole at the reload, so the backend indices it holds stay those of the
// table (a removed server's entry is retired, not reused, while requests may still reach it).
import { regionOffset, clock } from "../layout/header";
import { R_MIGRATE, MG_ACTIVE, MG_POINTS, MG_UNTIL, MG_RING, MG_PENDING_LEN } from "../abi/abi";
import { ringBase, ringPoints, backendCount, backendUp, backendRetired } from "./backends";
import { ringIndex } from "./ketama";

export const NO_OWNER: u32 = 0xffffffff;

@inline function control(): usize {
  return regionOffset(R_MIGRATE);
}

// Keeps the current ring as the old one and opens a window until clock `until`.
export function oldRingKeep(until: u64): void {
  const points = ringPoints();
  memory.copy(control() + MG_RING, ringBase(), (<usize>points) << 3);
  store<u32>(control() + MG_POINTS, points);
  store<u64>(control() + MG_UNTIL, until);
  store<u32>(control() + MG_ACTIVE, points != 0 ? 1 : 0);
  store<u32>(control() + MG_PENDING_LEN, 0);
}

export function oldRingDrop(): void {
  store<u32>(control() + MG_ACTIVE, 0);
  store<u32>(control() + MG_PENDING_LEN, 0);
  store<u32>(control() + MG_POINTS, 0);
}

// Whether a window is open; one whose time has come is closed here.
export function migrating(): bool {
  const c = control();
  if (load<u32>(c + MG_ACTIVE) == 0) return false;
  if (clock() >= load<u64>(c + MG_UNTIL)) {
    oldRingDrop();
    return false;
  }
  return true;
}

// The old ring's server for a key whose ring hash is `hash` (ketama.ts, ringHash), when it is not
// `now` and can still be asked (up, or removed from the ring but still in the table); else NO_OWNER.
export function oldOwner(hash: u32, now: u32): u32 {
  const c = control();
  const count = load<u32>(c + MG_POINTS);
  if (count == 0) return NO_OWNER;
  const ring = c + MG_RING;
  const owner = <u32>load<u64>(ring + ((<usize>ringIndex(ring, count, hash)) << 3));
  if (owner == now || owner >= backendCount()) return NO_OWNER;
  return backendUp(owner) || backendRetired(owner) ? owner : NO_OWNER;
}
