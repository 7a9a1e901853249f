// The table of tracked keys that every detector keeps alike: (hash, f, Δ) entries in a dense
// array, found through an index by hash, and the shared head of the control block. The caches,
// the snapshot and the exports read any detector through the accessors here; each detector's
// own fields sit at OWN and after, and lossy counting's between the shared ones.
import { indexFind, indexClear } from "../util/hash-index";
import { TRACKED_BYTES } from "../abi/abi";

export const TABLE_CONTROL: usize = 128;
export const TABLE_ENTRY: usize = TRACKED_BYTES;

export const N: usize = 0; // shared: total weight seen
export const EPOCH: usize = 8; // shared: weight since the last decay
export const WINDOW: usize = 48; // shared
export const THRESH: usize = 56; // shared: s - ε
export const COUNT: usize = 64; // shared: entries in use
export const CAP: usize = 68; // shared
export const MASK: usize = 72; // shared: index slots - 1
export const ENTRIES: usize = 76; // shared
export const INDEX: usize = 80; // shared
export const WARM: usize = 88; // shared
export const OWN: usize = 96;

@inline export function trackedCount(d: usize): u32 {
  return load<u32>(d + COUNT);
}

@inline export function trackedCapacity(d: usize): u32 {
  return load<u32>(d + CAP);
}

@inline export function trackedTotal(d: usize): u64 {
  return load<u64>(d + N);
}

@inline export function trackedEpoch(d: usize): u64 {
  return load<u64>(d + EPOCH);
}

@inline export function trackedEntry(d: usize, i: u32): usize {
  return <usize>load<u32>(d + ENTRIES) + <usize>i * TABLE_ENTRY;
}

@inline export function trackedIndex(d: usize): usize {
  return <usize>load<u32>(d + INDEX);
}

@inline export function trackedMask(d: usize): u32 {
  return load<u32>(d + MASK);
}

// The shared part of every detector's control block, cleared, and an empty index.
export function tableInit(
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
  memory.fill(d, 0, TABLE_CONTROL);
  store<u64>(d + WINDOW, window);
  store<f64>(d + THRESH, support - epsilon);
  store<f64>(d + WARM, warm);
  store<u32>(d + CAP, cap);
  store<u32>(d + MASK, slots - 1);
  store<u32>(d + ENTRIES, <u32>entries);
  store<u32>(d + INDEX, <u32>index);
  indexClear(index, slots - 1);
}

// Counts weight toward the decaying window; true when the window is over and the detector
// must halve.
@inline export function windowOver(d: usize, weight: u64): bool {
  const window = load<u64>(d + WINDOW);
  if (window == 0) return false;
  const epoch = load<u64>(d + EPOCH) + weight;
  store<u64>(d + EPOCH, epoch);
  return epoch >= window;
}

@inline export function trackedFind(d: usize, h: u64): u32 {
  return indexFind(trackedIndex(d), trackedMask(d), h);
}

@inline export function isHot(d: usize, f: u64): bool {
  return f != 0 && <f64>f >= load<f64>(d + THRESH) * <f64>load<u64>(d + N);
}

// The warm share: a key whose estimate reaches this share of N may enter L2.
@inline export function warmShare(d: usize): f64 {
  return load<f64>(d + WARM);
}

@inline export function isWarm(d: usize, f: u64): bool {
  return f != 0 && <f64>f >= load<f64>(d + WARM) * <f64>load<u64>(d + N);
}
