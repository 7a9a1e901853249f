// Space-Saving (Metwally, Agrawal & El Abbadi, ICDT 2005) over 64-bit key hashes, with weights
// and the same decaying window as lossy counting.
//
// k counters sit in the shared (hash, f, Δ) table. A tracked key adds its weight to f. A new key
// takes a free counter, or else the smallest one: it inherits f_min + weight, with Δ = f_min as
// its error. Hence f - Δ <= true count <= f, Δ <= f_min <= N/k, and every key whose true count
// exceeds N/k holds a counter. A binary min-heap over the counters (with each counter's heap
// position) finds the smallest in O(1) and keeps order in O(log k) per observation.
import { indexFind, indexInsert, indexRemove, NONE } from "../util/index";
import { heapInit, heapAt, heapPos, place, siftDown, siftUp, heapCheck, heapOwnBytes } from "./heap";
import { statInc } from "../layout/header";
import { S_DETECT_DECAYS } from "../shared/abi";
import { N, EPOCH, COUNT, CAP, MASK, INDEX, lcEntry, tableInit, windowOver } from "./lossy";

/** Bytes of its own that Space-Saving needs beyond the shared table: the heap. */
export function ssOwnBytes(cap: u32): usize {
  return heapOwnBytes(cap);
}

export function ssInit(d: usize, entries: usize, index: usize, own: usize, cap: u32, slots: u32,
  support: f64, epsilon: f64, warm: f64, window: u64): void {
  tableInit(d, entries, index, cap, slots, support, epsilon, warm, window);
  heapInit(d, own, cap);
}

// Counts `weight` for hash h and returns its estimate f afterwards.
export function ssObserve(d: usize, h: u64, weight: u64): u64 {
  store<u64>(d + N, load<u64>(d + N) + weight);
  const mask = load<u32>(d + MASK);
  const index = <usize>load<u32>(d + INDEX);
  let i = indexFind(index, mask, h);
  let est: u64;
  if (i != NONE) {
    const e = lcEntry(d, i);
    est = load<u64>(e, 8) + weight;
    store<u64>(e, est, 8);
    siftDown(d, heapPos(d, i));
  } else {
    const count = load<u32>(d + COUNT);
    if (count < load<u32>(d + CAP)) {
      i = count;
      const e = lcEntry(d, i);
      store<u64>(e, h);
      store<u64>(e, weight, 8);
      store<u64>(e, 0, 16);
      store<u32>(d + COUNT, count + 1);
      indexInsert(index, mask, h, i);
      place(d, count, i);
      siftUp(d, count);
      est = weight;
    } else {
      // the smallest counter changes hands: the newcomer may have been counted there all along
      i = heapAt(d, 0);
      const e = lcEntry(d, i);
      const min = load<u64>(e, 8);
      indexRemove(index, mask, load<u64>(e));
      store<u64>(e, h);
      est = min + weight;
      store<u64>(e, est, 8);
      store<u64>(e, min, 16);
      indexInsert(index, mask, h, i);
      siftDown(d, 0);
    }
  }
  if (windowOver(d, weight)) ssDecay(d);
  return est;
}

// Halves the window: f rounds up (it stays an upper bound) and f - Δ down (it stays a lower
// bound). Halving keeps the heap's order.
export function ssDecay(d: usize): void {
  const count = load<u32>(d + COUNT);
  for (let i: u32 = 0; i < count; i++) {
    const e = lcEntry(d, i);
    const fi = load<u64>(e, 8);
    const lower = (fi - load<u64>(e, 16)) >> 1;
    const half = (fi + 1) >> 1;
    store<u64>(e, half, 8);
    store<u64>(e, half - lower, 16);
  }
  store<u64>(d + N, load<u64>(d + N) >> 1);
  store<u64>(d + EPOCH, 0);
  statInc(S_DETECT_DECAYS);
}

// A snapshot entry, in lossy counting's terms (a lower bound `lower`, the true count at most
// lower + width): Space-Saving's f is the upper bound.
export function ssRestoreEntry(d: usize, h: u64, lower: u64, width: u64): void {
  const count = load<u32>(d + COUNT);
  const e = lcEntry(d, count);
  store<u64>(e, h);
  store<u64>(e, lower + width, 8);
  store<u64>(e, width, 16);
  store<u32>(d + COUNT, count + 1);
  indexInsert(<usize>load<u32>(d + INDEX), load<u32>(d + MASK), h, count);
  place(d, count, count);
  siftUp(d, count);
}

// Space-Saving's entry in lossy counting's terms: (f - Δ, Δ).
export function ssLower(e: usize): u64 {
  return load<u64>(e, 8) - load<u64>(e, 16);
}

export function ssCheck(d: usize): bool {
  const count = load<u32>(d + COUNT);
  if (count > load<u32>(d + CAP) || !heapCheck(d)) return false;
  const index = <usize>load<u32>(d + INDEX);
  const mask = load<u32>(d + MASK);
  for (let i: u32 = 0; i < count; i++) {
    const e = lcEntry(d, i);
    if (indexFind(index, mask, load<u64>(e)) != i || load<u64>(e, 16) > load<u64>(e, 8)) return false;
  }
  return true;
}
