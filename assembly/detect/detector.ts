// The detector this module is built with, chosen at compile time (asc --use KVLB_DETECTOR=n, one
// asconfig target per detector): lossy counting, weighted lossy counting, Space-Saving, or
// Count-Min with a top-k list. Each keeps its tracked keys in the same (hash, f, Δ) table, read
// through table.ts's accessors; what differs goes through here, and the compiler folds
// every branch but the module's own.
import { lcInit, lcObserve, lcSetTotal, lcRestoreEntry, lcCheck, lcEstimate } from "./lossy";
import { trackedEntry, N, EPOCH, TABLE_CONTROL, TABLE_ENTRY } from "./table";
import { ssInit, ssObserve, ssRestoreEntry, ssCheck, ssLower, ssOwnBytes } from "./space-saving";
import { cmInit, cmObserve, cmRestoreEntry, cmCheck, cmLower, cmOwnBytes, cmEstimate } from "./count-min";
import { indexSlotsFor, indexBytes } from "../util/hash-index";
import { lcCapacityFor } from "./lossy";
import { cfgF64, cfgU32, cfgU64 } from "../layout/header";
import { C_DETECT_CAPACITY, C_EPSILON, C_WINDOW, TK_F } from "../abi/abi";

export const DET_LOSSY: u32 = 1;
export const DET_WEIGHTED: u32 = 2;
export const DET_SPACE_SAVING: u32 = 3;
export const DET_COUNT_MIN: u32 = 4;

// A detector module's own version: raise it with any change to what the module computes.
export const MODULE_VERSION: u32 = 1;

// @ts-ignore: a compile-time constant from asc --use KVLB_DETECTOR=n
export const DETECTOR: u32 = <u32>KVLB_DETECTOR;

/** The detector region's size: the same for every detector, so a swap keeps the layout. */
export function detectRegionBytes(cap: u32, epsilon: f64): usize {
  const own = ssOwnBytes(cap) > cmOwnBytes(cap, epsilon) ? ssOwnBytes(cap) : cmOwnBytes(cap, epsilon);
  return TABLE_CONTROL + <usize>cap * TABLE_ENTRY + indexBytes(indexSlotsFor(cap)) + own;
}

export function detInit(d: usize, cap: u32, support: f64, epsilon: f64, warm: f64, window: u64): void {
  const slots = indexSlotsFor(cap);
  const entries = d + TABLE_CONTROL;
  const index = entries + <usize>cap * TABLE_ENTRY;
  const own = index + indexBytes(slots);
  if (DETECTOR == DET_SPACE_SAVING) ssInit(d, entries, index, own, cap, slots, support, epsilon, warm, window);
  else if (DETECTOR == DET_COUNT_MIN) cmInit(d, entries, index, own, cap, slots, support, epsilon, warm, window);
  else lcInit(d, entries, index, cap, slots, support, epsilon, warm, window);
}

// Counts weight for h; returns its estimate afterwards (0 when it could not be tracked).
@inline export function detObserve(d: usize, h: u64, weight: u64): u64 {
  if (DETECTOR == DET_SPACE_SAVING) return ssObserve(d, h, weight);
  if (DETECTOR == DET_COUNT_MIN) return cmObserve(d, h, weight);
  return lcObserve(d, h, weight);
}

// The estimate of any key hash: Count-Min has one for keys it does not list.
@inline export function detEstimate(d: usize, h: u64): u64 {
  if (DETECTOR == DET_COUNT_MIN) return cmEstimate(d, h);
  return lcEstimate(d, h);
}

export function detSetTotal(d: usize, n: u64, epoch: u64): void {
  if (DETECTOR == DET_SPACE_SAVING || DETECTOR == DET_COUNT_MIN) {
    store<u64>(d + N, n);
    store<u64>(d + EPOCH, epoch);
  } else lcSetTotal(d, n, epoch);
}

// A snapshot's entry, in the neutral terms of the format: the true count lies in
// [lower, lower + width] (lossy counting's own f and Δ).
export function detRestoreEntry(d: usize, h: u64, lower: u64, width: u64): void {
  if (DETECTOR == DET_SPACE_SAVING) ssRestoreEntry(d, h, lower, width);
  else if (DETECTOR == DET_COUNT_MIN) cmRestoreEntry(d, h, lower, width);
  else lcRestoreEntry(d, h, lower, width);
}

// Entry i's lower bound in those neutral terms (its width is the entry's Δ in every detector).
export function detLower(d: usize, i: u32): u64 {
  const e = trackedEntry(d, i);
  if (DETECTOR == DET_SPACE_SAVING) return ssLower(e);
  if (DETECTOR == DET_COUNT_MIN) return cmLower(e);
  return load<u64>(e, TK_F);
}

export function detCheck(d: usize): bool {
  if (DETECTOR == DET_SPACE_SAVING) return ssCheck(d);
  if (DETECTOR == DET_COUNT_MIN) return cmCheck(d);
  return lcCheck(d);
}

// The detector's entries: as configured, or what lossy counting needs for its ε and window.
export function detectCapacity(): u32 {
  const configured = cfgU32(C_DETECT_CAPACITY);
  if (configured != 0) return configured;
  return lcCapacityFor(cfgF64(C_EPSILON), cfgU64(C_WINDOW));
}
