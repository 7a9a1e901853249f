// A binary min-heap over a detector's counters, ordered by f in the shared (hash, f, Δ) table,
// with each counter's heap position, so that a counter that grew can be sifted from where it
// is: Count-Min's top-k list, which evicts the key at the top.
import { COUNT, OWN, trackedEntry } from "./table";

const HEAP: usize = OWN; // u32 address of the heap: cap u32 counter numbers
const POS: usize = OWN + 4; // u32 address of each counter's heap position: cap u32
export const HEAP_OWN_END: usize = OWN + 8; // where the next detector-specific field may go

export function heapOwnBytes(cap: u32): usize {
  return <usize>cap * 8;
}

export function heapInit(d: usize, own: usize, cap: u32): void {
  store<u32>(d + HEAP, <u32>own);
  store<u32>(d + POS, <u32>(own + ((<usize>cap) << 2)));
}

@inline export function heapAt(d: usize, p: u32): u32 {
  return load<u32>(<usize>load<u32>(d + HEAP) + ((<usize>p) << 2));
}
@inline export function heapPos(d: usize, i: u32): u32 {
  return load<u32>(<usize>load<u32>(d + POS) + ((<usize>i) << 2));
}
@inline function f(d: usize, i: u32): u64 {
  return load<u64>(trackedEntry(d, i), 8);
}
@inline export function place(d: usize, p: u32, i: u32): void {
  store<u32>(<usize>load<u32>(d + HEAP) + ((<usize>p) << 2), i);
  store<u32>(<usize>load<u32>(d + POS) + ((<usize>i) << 2), p);
}

export function siftDown(d: usize, p: u32): void {
  const n = load<u32>(d + COUNT);
  const i = heapAt(d, p);
  const fi = f(d, i);
  for (;;) {
    let c: u32 = 2 * p + 1;
    if (c >= n) break;
    if (c + 1 < n && f(d, heapAt(d, c + 1)) < f(d, heapAt(d, c))) c++;
    const j = heapAt(d, c);
    if (f(d, j) >= fi) break;
    place(d, p, j);
    p = c;
  }
  place(d, p, i);
}

export function siftUp(d: usize, p: u32): void {
  const i = heapAt(d, p);
  const fi = f(d, i);
  while (p > 0) {
    const q = (p - 1) >> 1;
    const j = heapAt(d, q);
    if (f(d, j) <= fi) break;
    place(d, p, j);
    p = q;
  }
  place(d, p, i);
}

export function heapCheck(d: usize): bool {
  const count = load<u32>(d + COUNT);
  for (let p: u32 = 0; p < count; p++) {
    const i = heapAt(d, p);
    if (i >= count || heapPos(d, i) != p) return false;
    if (p > 0 && f(d, heapAt(d, (p - 1) >> 1)) > f(d, i)) return false;
  }
  return true;
}
