// Space-Saving (Metwally, Agrawal & El Abbadi, ICDT 2005) over 64-bit key hashes, with weights
// and the same decaying window as lossy counting.
//
// k counters sit in the shared (hash, f, Δ) table. A tracked key adds its weight to f. A new key
// takes a free counter, or else a smallest one: it inherits f_min + weight, with Δ = f_min as its
// error. Hence f - Δ <= true count <= f, Δ <= f_min <= N/k, and every key whose true count
// exceeds N/k holds a counter.
//
// The smallest counters are kept as a stack of every counter at the minimum value: a counter
// leaves it when it grows, and a new key takes the top. When the stack runs out, one pass over
// the counters finds the new minimum and stacks the counters at it. On a skewed stream most
// counters sit at the minimum, so a pass serves about as many new keys as there are counters,
// and a key costs O(1) on average, where a heap costs O(log k) for each.
import { indexFind, indexInsert, indexRemove, NONE } from "../util/hash-index";
import { statInc } from "../layout/header";
import { S_DETECT_DECAYS, TK_F, TK_DELTA } from "../abi/abi";
import { N, EPOCH, COUNT, CAP, MASK, INDEX, OWN, trackedEntry, tableInit, windowOver } from "./table";

const STACK: usize = OWN; // u32 address: cap u32 counter numbers, the counters at the minimum
const POS: usize = OWN + 4; // u32 address: cap u32, each counter's place on the stack or NO_PLACE
const SIZE: usize = OWN + 8; // u32, counters on the stack (0: to be found again)
const MIN: usize = OWN + 16; // u64, their value
const NO_PLACE: u32 = 0xffffffff;

/** Bytes of its own that Space-Saving needs beyond the shared table: the stack and the places. */
export function ssOwnBytes(cap: u32): usize {
  return <usize>cap * 8;
}

@inline function f(d: usize, i: u32): u64 {
  return load<u64>(trackedEntry(d, i), 8);
}
@inline function stackAt(d: usize, p: u32): usize {
  return <usize>load<u32>(d + STACK) + ((<usize>p) << 2);
}
@inline function placeAt(d: usize, i: u32): usize {
  return <usize>load<u32>(d + POS) + ((<usize>i) << 2);
}

export function ssInit(
  d: usize,
  entries: usize,
  index: usize,
  own: usize,
  cap: u32,
  slots: u32,
  support: f64,
  epsilon: f64,
  warm: f64,
  window: u64,
): void {
  tableInit(d, entries, index, cap, slots, support, epsilon, warm, window);
  store<u32>(d + STACK, <u32>own);
  store<u32>(d + POS, <u32>(own + ((<usize>cap) << 2)));
}

// A counter grew: it is no longer at the minimum.
@inline function unstack(d: usize, i: u32): void {
  const p = load<u32>(placeAt(d, i));
  if (p == NO_PLACE) return;
  store<u32>(placeAt(d, i), NO_PLACE);
  if (load<u32>(d + SIZE) == 0) return; // the stack is to be found again anyway
  const size = load<u32>(d + SIZE) - 1;
  const last = load<u32>(stackAt(d, size));
  if (last != i) {
    store<u32>(stackAt(d, p), last);
    store<u32>(placeAt(d, last), p);
  }
  store<u32>(d + SIZE, size);
}

// One pass: the smallest value, and every counter at it on the stack.
function restack(d: usize): void {
  const count = load<u32>(d + COUNT);
  let min: u64 = U64.MAX_VALUE;
  for (let i: u32 = 0; i < count; i++) if (f(d, i) < min) min = f(d, i);
  let size: u32 = 0;
  for (let i: u32 = 0; i < count; i++) {
    if (f(d, i) == min) {
      store<u32>(stackAt(d, size), i);
      store<u32>(placeAt(d, i), size);
      size++;
    } else store<u32>(placeAt(d, i), NO_PLACE);
  }
  store<u32>(d + SIZE, size);
  store<u64>(d + MIN, min);
}

// Counts `weight` for hash h and returns its estimate f afterwards.
export function ssObserve(d: usize, h: u64, weight: u64): u64 {
  store<u64>(d + N, load<u64>(d + N) + weight);
  const mask = load<u32>(d + MASK);
  const index = <usize>load<u32>(d + INDEX);
  let i = indexFind(index, mask, h);
  let est: u64;
  if (i != NONE) {
    const e = trackedEntry(d, i);
    est = load<u64>(e, TK_F) + weight;
    store<u64>(e, est, TK_F);
    unstack(d, i);
  } else {
    const count = load<u32>(d + COUNT);
    if (count < load<u32>(d + CAP)) {
      i = count;
      const e = trackedEntry(d, i);
      store<u64>(e, h);
      store<u64>(e, weight, TK_F);
      store<u64>(e, 0, TK_DELTA);
      store<u32>(placeAt(d, i), NO_PLACE);
      store<u32>(d + COUNT, count + 1);
      store<u32>(d + SIZE, 0); // a new counter may be the smallest: find them again when needed
      indexInsert(index, mask, h, i);
      est = weight;
    } else {
      // a smallest counter changes hands: the newcomer may have been counted there all along
      if (load<u32>(d + SIZE) == 0) restack(d);
      const size = load<u32>(d + SIZE) - 1;
      i = load<u32>(stackAt(d, size));
      store<u32>(placeAt(d, i), NO_PLACE);
      store<u32>(d + SIZE, size);
      const e = trackedEntry(d, i);
      const min = load<u64>(e, TK_F);
      indexRemove(index, mask, load<u64>(e));
      store<u64>(e, h);
      est = min + weight;
      store<u64>(e, est, TK_F);
      store<u64>(e, min, TK_DELTA);
      indexInsert(index, mask, h, i);
    }
  }
  if (windowOver(d, weight)) ssDecay(d);
  return est;
}

// Halves the window: f rounds up (it stays an upper bound) and f - Δ down (it stays a lower
// bound). The smallest counters are found again when next needed.
export function ssDecay(d: usize): void {
  const count = load<u32>(d + COUNT);
  for (let i: u32 = 0; i < count; i++) {
    const e = trackedEntry(d, i);
    const fi = load<u64>(e, TK_F);
    const lower = (fi - load<u64>(e, TK_DELTA)) >> 1;
    const half = (fi + 1) >> 1;
    store<u64>(e, half, TK_F);
    store<u64>(e, half - lower, TK_DELTA);
    store<u32>(placeAt(d, i), NO_PLACE);
  }
  store<u32>(d + SIZE, 0);
  store<u64>(d + N, load<u64>(d + N) >> 1);
  store<u64>(d + EPOCH, 0);
  statInc(S_DETECT_DECAYS);
}

// A snapshot entry, in lossy counting's terms (a lower bound `lower`, the true count at most
// lower + width): Space-Saving's f is the upper bound.
export function ssRestoreEntry(d: usize, h: u64, lower: u64, width: u64): void {
  const count = load<u32>(d + COUNT);
  const e = trackedEntry(d, count);
  store<u64>(e, h);
  store<u64>(e, lower + width, TK_F);
  store<u64>(e, width, TK_DELTA);
  store<u32>(placeAt(d, count), NO_PLACE);
  store<u32>(d + COUNT, count + 1);
  store<u32>(d + SIZE, 0);
  indexInsert(<usize>load<u32>(d + INDEX), load<u32>(d + MASK), h, count);
}

// Space-Saving's entry in lossy counting's terms: (f - Δ, Δ).
export function ssLower(e: usize): u64 {
  return load<u64>(e, TK_F) - load<u64>(e, TK_DELTA);
}

export function ssCheck(d: usize): bool {
  const count = load<u32>(d + COUNT);
  const size = load<u32>(d + SIZE);
  if (count > load<u32>(d + CAP) || size > count) return false;
  const index = <usize>load<u32>(d + INDEX);
  const mask = load<u32>(d + MASK);
  const min = load<u64>(d + MIN);
  for (let p: u32 = 0; p < size; p++) {
    const i = load<u32>(stackAt(d, p));
    if (i >= count || load<u32>(placeAt(d, i)) != p || f(d, i) != min) return false;
  }
  for (let i: u32 = 0; i < count; i++) {
    const e = trackedEntry(d, i);
    if (indexFind(index, mask, load<u64>(e)) != i || load<u64>(e, TK_DELTA) > load<u64>(e, TK_F)) return false;
    if (size > 0 && f(d, i) < min) return false;
  }
  return true;
}
