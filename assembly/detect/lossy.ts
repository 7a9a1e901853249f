// Lossy counting (Manku & Motwani, VLDB 2002) over 64-bit key hashes, with weights and an
// optional decaying window.
//
// Entries (hash, f, Δ) sit in a dense array, found through an index by hash. With bucket width
// w = ceil(1/ε) and N the total weight seen, the current bucket is b = ceil(N/w). A new entry
// gets Δ = b - 1. When N crosses a multiple of w, every entry with f + Δ <= floor(N/w) is
// deleted. Hence f <= true count <= f + Δ, Δ < εN, and a key is reported when f >= (s - ε)N.
//
// Decay: every `window` units of weight, f, Δ and N are halved (Δ rounds up, so the bounds
// above still hold for the halved true counts), which bounds N by 2·window and lets a new hot
// set overtake an old one within a few windows (docs/detector.md gives the bound).
import { indexFind, indexInsert, indexRemove, indexUpdate, NONE } from "../util/hash-index";
import { statInc, statAdd } from "../layout/header";
import {
  CAP,
  COUNT,
  EPOCH,
  INDEX,
  MASK,
  N,
  tableInit,
  trackedEntry,
  trackedFind,
  trackedIndex,
  trackedMask,
  windowOver,
} from "./table";
import { S_DETECT_PRUNED, S_DETECT_OVERFLOW, S_DETECT_DECAYS, TK_F, TK_DELTA } from "../abi/abi";

// Lossy counting's own fields of the control block, between the shared ones (table.ts).
const W: usize = 16;
const BCUR: usize = 24;
const BOUND: usize = 32;
const NEXT_PRUNE: usize = 40;

@inline export function lcWidth(d: usize): u64 {
  return load<u64>(d + W);
}
@inline export function lcBucket(d: usize): u64 {
  return load<u64>(d + BCUR);
}

// The most entries lossy counting can hold: w·H(B) <= w·(ln B + 1) with B the largest bucket
// number (the paper's (1/ε)·log(εN) bound), plus one bucket of slack.
export function lcCapacityFor(epsilon: f64, window: u64): u32 {
  const w = Math.ceil(1.0 / epsilon);
  const nMax: f64 = window > 0 ? 2.0 * <f64>window : 4294967296.0;
  const buckets = Math.max(1.0, Math.ceil(nMax / w));
  return <u32>Math.ceil(w * (Math.log(buckets) + 2.0));
}

export function lcInit(
  d: usize,
  entries: usize,
  index: usize,
  cap: u32,
  slots: u32,
  support: f64,
  epsilon: f64,
  warm: f64,
  window: u64,
): void {
  tableInit(d, entries, index, cap, slots, support, epsilon, warm, window);
  store<u64>(d + W, <u64>Math.ceil(1.0 / epsilon));
  lcSetTotal(d, 0, 0);
}

// Sets N and re-derives the bucket bookkeeping from it.
export function lcSetTotal(d: usize, n: u64, epoch: u64): void {
  const w = load<u64>(d + W);
  let b = (n + w - 1) / w;
  if (b == 0) b = 1;
  store<u64>(d + N, n);
  store<u64>(d + EPOCH, epoch);
  store<u64>(d + BCUR, b);
  store<u64>(d + BOUND, b * w);
  store<u64>(d + NEXT_PRUNE, (n / w + 1) * w);
}

// Counts `weight` for hash h and returns the key's estimate f afterwards (0 if the table was
// full and the key could not be tracked).
export function lcObserve(d: usize, h: u64, weight: u64): u64 {
  const n = load<u64>(d + N) + weight;
  store<u64>(d + N, n);
  if (n > load<u64>(d + BOUND)) {
    const w = load<u64>(d + W);
    const b = (n + w - 1) / w;
    store<u64>(d + BCUR, b);
    store<u64>(d + BOUND, b * w);
  }
  const mask = load<u32>(d + MASK);
  const index = <usize>load<u32>(d + INDEX);
  const i = indexFind(index, mask, h);
  let f: u64 = 0;
  if (i != NONE) {
    const e = trackedEntry(d, i);
    f = load<u64>(e, TK_F) + weight;
    store<u64>(e, f, TK_F);
  } else {
    const count = load<u32>(d + COUNT);
    if (count < load<u32>(d + CAP)) {
      const e = trackedEntry(d, count);
      store<u64>(e, h);
      store<u64>(e, weight, TK_F);
      store<u64>(e, load<u64>(d + BCUR) - 1, TK_DELTA);
      store<u32>(d + COUNT, count + 1);
      indexInsert(index, mask, h, count);
      f = weight;
    } else {
      statInc(S_DETECT_OVERFLOW);
    }
  }
  if (n >= load<u64>(d + NEXT_PRUNE)) {
    const w = load<u64>(d + W);
    const completed = n / w;
    store<u64>(d + NEXT_PRUNE, (completed + 1) * w);
    lcPrune(d, completed);
  }
  if (windowOver(d, weight)) lcDecay(d);
  return f;
}

// Deletes every entry with f + Δ <= bucket.
export function lcPrune(d: usize, bucket: u64): void {
  const mask = load<u32>(d + MASK);
  const index = <usize>load<u32>(d + INDEX);
  let count = load<u32>(d + COUNT);
  let i: u32 = 0;
  let pruned: u64 = 0;
  while (i < count) {
    const e = trackedEntry(d, i);
    if (load<u64>(e, TK_F) + load<u64>(e, TK_DELTA) <= bucket) {
      indexRemove(index, mask, load<u64>(e));
      count--;
      if (i != count) {
        const last = trackedEntry(d, count);
        const lh = load<u64>(last);
        // three plain stores: memory.copy is a runtime call in V8, dear at 24 bytes
        store<u64>(e, lh);
        store<u64>(e, load<u64>(last, TK_F), TK_F);
        store<u64>(e, load<u64>(last, TK_DELTA), TK_DELTA);
        indexUpdate(index, mask, lh, i);
      }
      pruned++;
    } else {
      i++;
    }
  }
  store<u32>(d + COUNT, count);
  if (pruned != 0) statAdd(S_DETECT_PRUNED, pruned);
}

// Halves the window: f rounds down and Δ up, so f <= true and true - f <= Δ still hold.
export function lcDecay(d: usize): void {
  const count = load<u32>(d + COUNT);
  for (let i: u32 = 0; i < count; i++) {
    const e = trackedEntry(d, i);
    store<u64>(e, load<u64>(e, TK_F) >> 1, TK_F);
    store<u64>(e, (load<u64>(e, TK_DELTA) + 2) >> 1, TK_DELTA);
  }
  const n = load<u64>(d + N) >> 1;
  lcSetTotal(d, n, 0);
  lcPrune(d, n / load<u64>(d + W));
  statInc(S_DETECT_DECAYS);
}

// The entry number for h, or NONE.

export function lcEstimate(d: usize, h: u64): u64 {
  const i = trackedFind(d, h);
  return i == NONE ? 0 : load<u64>(trackedEntry(d, i), 8);
}

// Inserts a restored entry as is. The caller has checked capacity and uniqueness.
export function lcRestoreEntry(d: usize, h: u64, f: u64, delta: u64): void {
  const count = load<u32>(d + COUNT);
  const e = trackedEntry(d, count);
  store<u64>(e, h);
  store<u64>(e, f, TK_F);
  store<u64>(e, delta, TK_DELTA);
  store<u32>(d + COUNT, count + 1);
  indexInsert(trackedIndex(d), trackedMask(d), h, count);
}

// 0 when the index and the entries agree, and no entry is over its own bounds.
export function lcCheck(d: usize): bool {
  const count = load<u32>(d + COUNT);
  if (count > load<u32>(d + CAP)) return false;
  const bcur = load<u64>(d + BCUR);
  for (let i: u32 = 0; i < count; i++) {
    const e = trackedEntry(d, i);
    if (trackedFind(d, load<u64>(e)) != i) return false;
    if (load<u64>(e, TK_DELTA) > bcur + 1) return false; // decay rounds Δ up by at most one
  }
  return true;
}

export { NONE };
