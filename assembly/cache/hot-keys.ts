// The warmest cached keys, for the stats a worker reports twice a second: chosen in the core in
// one pass over both layers, so that a report costs the data path one call, not a call and a
// string per cached key (10 ms with full caches, which every request in flight then waited).
import { regionOffset, regionSize } from "../layout/header";
import { detector, l1, l2 } from "../layout/regions";
import { detEstimate } from "../detect/detector";
import { l1Oldest, l1Next, l1Hash, l1KeyPtr, l1KeyLen } from "./l1";
import { slMin, slNext, slHash, slKeyPtr, slKeyLen } from "./skiplist";
import { NONE } from "../util/hash-index";
import { R_IO, LAYER_L1, LAYER_L2, HOT_KEY_BYTES, HK_ESTIMATE, HK_LAYER, HK_KEY_LEN, HK_KEY } from "../abi/abi";

// Puts a key among the `count` records at `out` (warmest first, at most `max`); returns the count.
function consider(out: usize, count: u32, max: u32, estimate: u64, layer: u32, key: usize, keyLen: u32): u32 {
  let at = count;
  if (count == max) {
    if (estimate <= load<u64>(out + <usize>(max - 1) * HOT_KEY_BYTES, HK_ESTIMATE)) return count;
    at = max - 1;
  } else {
    count++;
  }
  // move colder records down one place to make room
  while (at > 0 && load<u64>(out + <usize>(at - 1) * HOT_KEY_BYTES, HK_ESTIMATE) < estimate) {
    memory.copy(out + <usize>at * HOT_KEY_BYTES, out + <usize>(at - 1) * HOT_KEY_BYTES, HOT_KEY_BYTES);
    at--;
  }
  const r = out + <usize>at * HOT_KEY_BYTES;
  store<u64>(r, estimate, HK_ESTIMATE);
  store<u32>(r, layer, HK_LAYER);
  store<u32>(r, keyLen, HK_KEY_LEN);
  memory.copy(r + HK_KEY, key, keyLen);
  return count;
}

// Writes the `max` warmest cached keys into R_IO; returns how many. Every L1 key counts; an L2
// key the detector no longer counts (estimate 0) is cached but not hot, and is left out.
export function hotKeys(max: u32): u32 {
  const out = regionOffset(R_IO);
  const room = <u32>(regionSize(R_IO) / HOT_KEY_BYTES);
  if (max > room) max = room;
  if (max == 0) return 0;
  const d = detector();
  let n: u32 = 0;
  const a = l1();
  for (let i = l1Oldest(a); i != NONE; i = l1Next(a, i)) {
    n = consider(out, n, max, detEstimate(d, l1Hash(a, i)), LAYER_L1, l1KeyPtr(a, i), l1KeyLen(a, i));
  }
  const s = l2();
  for (let j = slMin(s); j != NONE; j = slNext(s, j)) {
    const estimate = detEstimate(d, slHash(s, j));
    if (estimate > 0) n = consider(out, n, max, estimate, LAYER_L2, slKeyPtr(s, j), slKeyLen(s, j));
  }
  return n;
}
