// Dropping what the caches hold for a backend (it went down, came back, restarted or was
// flushed: what kvlb holds may no longer be what it holds), or for all of them (kvlb flush). A
// purge also stamps a version: a read forwarded before it may not fill afterwards.
import { l1Oldest, l1Next, l1KeyPtr, l1KeyLen, l1Remove } from "./l1";
import { slMin, slNext, slKeyPtr, slKeyLen, slRemove } from "./skiplist";
import { NONE } from "../util/hash-index";
import { l1, l2 } from "../layout/regions";
import { nextVersion } from "./barrier";
import { statAdd } from "../layout/header";
import { ketamaRoute } from "../route/ketama";
import { HEADER_BASE, H_PURGED, S_PURGED } from "../abi/abi";

export const PURGE_ALL: u32 = 0xffffffff;

// Removes every cached copy whose key belongs to backend `b` (PURGE_ALL: every copy); returns
// how many.
export function purge(b: u32): u32 {
  store<u64>(HEADER_BASE + H_PURGED, nextVersion());
  let removed: u32 = 0;
  const a = l1();
  for (let i = l1Oldest(a); i != NONE;) {
    const next = l1Next(a, i);
    if (b == PURGE_ALL || ketamaRoute(l1KeyPtr(a, i), l1KeyLen(a, i)) == b) {
      l1Remove(a, i);
      removed++;
    }
    i = next;
  }
  const s = l2();
  for (let j = slMin(s); j != NONE;) {
    const next = slNext(s, j);
    if (b == PURGE_ALL || ketamaRoute(slKeyPtr(s, j), slKeyLen(s, j)) == b) {
      slRemove(s, j);
      removed++;
    }
    j = next;
  }
  statAdd(S_PURGED, removed);
  return removed;
}

// Whether a read forwarded at `stamp` came after the last purge.
@inline export function afterPurge(stamp: u64): bool {
  return stamp >= load<u64>(HEADER_BASE + H_PURGED);
}
