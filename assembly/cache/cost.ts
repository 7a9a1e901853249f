// What serving a key costs, for weighted lossy counting: one unit per request, plus one per
// 128 bytes of the reply a cache holds for it, so that keys whose replies are large count for
// more of the balancer's work than their request rate alone says.
import { l1FindHash, l1ReplyLen } from "./l1";
import { slFindHash, slReplyLen } from "./skiplist";
import { NONE } from "../util/hash-index";
import { l1, l2 } from "../layout/regions";

const COST_UNIT: u32 = 128;

export function servingCost(h: u64): u64 {
  const a = l1();
  const i = l1FindHash(a, h);
  if (i != NONE) return 1 + <u64>(l1ReplyLen(a, i) / COST_UNIT);
  const s = l2();
  const j = slFindHash(s, h);
  return j != NONE ? 1 + <u64>(slReplyLen(s, j) / COST_UNIT) : 1;
}
