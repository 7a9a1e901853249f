// The detector's and the cache layers' initialisation from the config: at start, and when a
// snapshot is restored.
import { cfgF64, cfgU32, cfgU64 } from "../layout/header";
import { detector, l1, l2 } from "../layout/regions";
import { indexSlotsFor, indexBytes } from "../util/hash-index";
import { detInit, detectCapacity } from "../detect/detector";
import { l1Init, L1_CONTROL, L1_ENTRY } from "./l1";
import { slInit, slNodeBytes, SL_CONTROL } from "./skiplist";
import { resetVersion } from "./barrier";
import {
  C_SUPPORT,
  C_EPSILON,
  C_WARM,
  C_WINDOW,
  C_L1_ENTRIES,
  C_L1_BYTES,
  C_L2_ENTRIES,
  C_L2_SLOT_BYTES,
  C_SEED,
} from "../abi/abi";

export function initDetector(): void {
  detInit(detector(), detectCapacity(), cfgF64(C_SUPPORT), cfgF64(C_EPSILON), cfgF64(C_WARM), cfgU64(C_WINDOW));
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
  slInit(b, nodes, index, index + indexBytes(l2Slots), l2Cap, l2Slots, cfgU32(C_L2_SLOT_BYTES), cfgU32(C_SEED));
  resetVersion();
}
