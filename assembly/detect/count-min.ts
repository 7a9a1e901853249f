// A Count-Min sketch (Cormode & Muthukrishnan, 2005) with a top-k list, over 64-bit key hashes,
// with weights and the same decaying window as lossy counting.
//
// DEPTH rows of WIDTH = ceil(e/ε) counters; a key adds its weight to one counter per row, and its
// estimate is the smallest of them: never below its true count, and above it by more than εN
// with probability at most e^-DEPTH. The k keys with the largest estimates seen so far sit in the
// shared (hash, f, Δ) table, ordered by a min-heap: a key whose estimate beats the smallest
// tracked one takes its place. Δ is the sketch's error bound, ceil(εN), when the key was counted.
import { indexFind, indexInsert, indexRemove, NONE } from "../util/hash-index";
import { heapInit, heapAt, heapPos, place, siftDown, siftUp, heapCheck, heapOwnBytes, HEAP_OWN_END } from "./heap";
import { statInc } from "../layout/header";
import { S_DETECT_DECAYS, TK_F, TK_DELTA } from "../abi/abi";
import { N, EPOCH, COUNT, CAP, MASK, INDEX, trackedEntry, tableInit, windowOver } from "./table";

const SKETCH: usize = HEAP_OWN_END; // u32 address of the rows: DEPTH × WIDTH u64
const WIDTH: usize = HEAP_OWN_END + 4; // u32
const EPS: usize = HEAP_OWN_END + 8; // f64, ε
export const CM_DEPTH: u32 = 4;
// odd multipliers, one per row: the row's counter is the top bits of h times it
const SEEDS: StaticArray<u64> = [0x9e3779b97f4a7c15, 0xc2b2ae3d27d4eb4f, 0x165667b19e3779f9, 0xd6e8feb86659fd93];

export function cmWidth(epsilon: f64): u32 {
  return <u32>Math.ceil(Math.E / epsilon);
}

/** Bytes of its own beyond the shared table: the heap and the sketch. */
export function cmOwnBytes(cap: u32, epsilon: f64): usize {
  return heapOwnBytes(cap) + <usize>CM_DEPTH * <usize>cmWidth(epsilon) * 8;
}

export function cmInit(
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
  heapInit(d, own, cap);
  const sketch = own + heapOwnBytes(cap);
  const width = cmWidth(epsilon);
  store<u32>(d + SKETCH, <u32>sketch);
  store<u32>(d + WIDTH, width);
  store<f64>(d + EPS, epsilon);
  memory.fill(sketch, 0, <usize>CM_DEPTH * <usize>width * 8);
}

@inline function cell(d: usize, row: u32, h: u64): usize {
  const width = <u64>load<u32>(d + WIDTH);
  const col = (((h * unchecked(SEEDS[row])) >> 32) * width) >> 32;
  return <usize>load<u32>(d + SKETCH) + ((<usize>row * <usize>width + <usize>col) << 3);
}

// Adds weight to h's counters; returns its estimate afterwards.
function add(d: usize, h: u64, weight: u64): u64 {
  let est: u64 = U64.MAX_VALUE;
  for (let r: u32 = 0; r < CM_DEPTH; r++) {
    const c = cell(d, r, h);
    const v = load<u64>(c) + weight;
    store<u64>(c, v);
    if (v < est) est = v;
  }
  return est;
}

@inline function errorBound(d: usize): u64 {
  return <u64>Math.ceil(load<f64>(d + EPS) * <f64>load<u64>(d + N));
}

// Puts h in the top-k list with estimate est, if it belongs there.
function track(d: usize, h: u64, est: u64): void {
  const mask = load<u32>(d + MASK);
  const index = <usize>load<u32>(d + INDEX);
  const i = indexFind(index, mask, h);
  if (i != NONE) {
    const e = trackedEntry(d, i);
    store<u64>(e, est, TK_F);
    store<u64>(e, errorBound(d), TK_DELTA);
    siftDown(d, heapPos(d, i));
    return;
  }
  const count = load<u32>(d + COUNT);
  let slot: u32;
  if (count < load<u32>(d + CAP)) {
    slot = count;
    store<u32>(d + COUNT, count + 1);
  } else {
    slot = heapAt(d, 0);
    const e = trackedEntry(d, slot);
    if (load<u64>(e, TK_F) >= est) return;
    indexRemove(index, mask, load<u64>(e));
  }
  const e = trackedEntry(d, slot);
  store<u64>(e, h);
  store<u64>(e, est, TK_F);
  store<u64>(e, errorBound(d), TK_DELTA);
  indexInsert(index, mask, h, slot);
  if (slot == count) {
    place(d, count, slot);
    siftUp(d, count);
  } else {
    siftDown(d, 0);
  }
}

export function cmObserve(d: usize, h: u64, weight: u64): u64 {
  store<u64>(d + N, load<u64>(d + N) + weight);
  const est = add(d, h, weight);
  track(d, h, est);
  if (windowOver(d, weight)) cmDecay(d);
  return est;
}

// An estimate for any key, tracked or not: the smallest of its counters.
export function cmEstimate(d: usize, h: u64): u64 {
  let est: u64 = U64.MAX_VALUE;
  for (let r: u32 = 0; r < CM_DEPTH; r++) {
    const v = load<u64>(cell(d, r, h));
    if (v < est) est = v;
  }
  return est;
}

// Halves the window: counters round up, so an estimate stays at or above the halved true count.
export function cmDecay(d: usize): void {
  const sketch = <usize>load<u32>(d + SKETCH);
  const cells = <usize>CM_DEPTH * <usize>load<u32>(d + WIDTH);
  for (let k: usize = 0; k < cells; k++) {
    const c = sketch + (k << 3);
    store<u64>(c, (load<u64>(c) + 1) >> 1);
  }
  const count = load<u32>(d + COUNT);
  for (let i: u32 = 0; i < count; i++) {
    const e = trackedEntry(d, i);
    store<u64>(e, (load<u64>(e, TK_F) + 1) >> 1, TK_F);
    store<u64>(e, (load<u64>(e, TK_DELTA) + 1) >> 1, TK_DELTA);
  }
  store<u64>(d + N, load<u64>(d + N) >> 1);
  store<u64>(d + EPOCH, 0);
  statInc(S_DETECT_DECAYS);
}

// A snapshot entry in lossy counting's terms (true count in [lower, lower + width]): its upper
// bound goes into the sketch, so estimates stay at or above true counts, and into the list.
export function cmRestoreEntry(d: usize, h: u64, lower: u64, width: u64): void {
  track(d, h, add(d, h, lower + width));
}

// Count-Min's entry in lossy counting's terms: its estimate less the error bound, and the bound.
export function cmLower(e: usize): u64 {
  const f = load<u64>(e, TK_F);
  const err = load<u64>(e, TK_DELTA);
  return f > err ? f - err : 0;
}

export function cmCheck(d: usize): bool {
  const count = load<u32>(d + COUNT);
  if (count > load<u32>(d + CAP) || !heapCheck(d)) return false;
  const index = <usize>load<u32>(d + INDEX);
  const mask = load<u32>(d + MASK);
  for (let i: u32 = 0; i < count; i++) {
    const e = trackedEntry(d, i);
    const h = load<u64>(e);
    if (indexFind(index, mask, h) != i || load<u64>(e, TK_F) > cmEstimate(d, h)) return false;
  }
  return true;
}
