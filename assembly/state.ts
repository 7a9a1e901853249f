// Where each table lives (from the region table), and their initialisation from the config.
import { regionOffset, cfgF64, cfgU32, cfgU64 } from "./layout/header";
import { detectCapacity } from "./layout/plan";
import { indexSlotsFor, indexBytes } from "./util/index";
import { detInit } from "./detect/detector";
import { l1Init, L1_CONTROL, L1_ENTRY } from "./cache/l1";
import { slInit, slNodeBytes, SL_CONTROL } from "./cache/skiplist";
import {
  R_DETECT,
  R_L1,
  R_L2,
  C_SUPPORT,
  C_EPSILON,
  C_WARM,
  C_WINDOW,
  C_L1_ENTRIES,
  C_L1_BYTES,
  C_L2_ENTRIES,
  C_L2_SLOT_BYTES,
  C_SEED,
  HEADER_BASE,
  H_VERSION,
} from "./shared/abi";

@inline export function detector(): usize {
  return regionOffset(R_DETECT);
}
@inline export function l1(): usize {
  return regionOffset(R_L1);
}
@inline export function l2(): usize {
  return regionOffset(R_L2);
}

// The next version for a write; versions only grow, so a stale reply can never match.
export function nextVersion(): u64 {
  const v = load<u64>(HEADER_BASE + H_VERSION) + 1;
  store<u64>(HEADER_BASE + H_VERSION, v);
  return v;
}

export function initDetector(): void {
  detInit(
    detector(),
    detectCapacity(),
    cfgF64(C_SUPPORT),
    cfgF64(C_EPSILON),
    cfgF64(C_WARM),
    cfgU64(C_WINDOW),
  );
}

export function initTables(): void {
  initDetector();
  const a = l1();
  const l1Cap = cfgU32(C_L1_ENTRIES);
  const l1Slots = indexSlotsFor(l1Cap);
  const l1Entries = a + L1_CONTROL;
  const l1Index = l1Entries + <usize>l1Cap * L1_ENTRY;
  l1Init(a, l1Entries, l1Index, l1Index + indexBytes(l1Slots), l1Cap, l1Slots, cfgU32(C_L1_BYTES));

  const b = l2();
  const l2Cap = cfgU32(C_L2_ENTRIES);
  const l2Slots = indexSlotsFor(l2Cap);
  const nodes = b + SL_CONTROL;
  const index = nodes + slNodeBytes(l2Cap);
  slInit(
    b,
    nodes,
    index,
    index + indexBytes(l2Slots),
    l2Cap,
    l2Slots,
    cfgU32(C_L2_SLOT_BYTES),
    cfgU32(C_SEED),
  );
  store<u64>(HEADER_BASE + H_VERSION, 0);
}
