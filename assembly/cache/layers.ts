// The two cache layers together: lookup, placement by hotness, promotion and demotion, and
// the versioned write protocol (docs/balancer.md, "Consistency").
import {
  l1Find,
  l1Put,
  l1Remove,
  l1State,
  l1SetState,
  l1Version,
  l1SetVersion,
  l1KeyPtr,
  l1KeyLen,
  l1ReplyPtr,
  l1ReplyLen,
  l1Oldest,
  l1Next,
  l1Hash,
  l1Count,
  l1Expiry,
} from "./l1";
import {
  slFind,
  slPut,
  slRemove,
  slState,
  slSetState,
  slVersion,
  slSetVersion,
  slFreq,
  slSetFreq,
  slReplyPtr,
  slReplyLen,
  slKeyPtr,
  slKeyLen,
  slCount,
  slExpiry,
} from "./skiplist";
import { NONE } from "../util/hash-index";
import { statInc, clock } from "../layout/header";
import { detector, l1, l2 } from "../layout/regions";
import { nextVersion } from "./barrier";
import { isHot, isWarm } from "../detect/table";
import { detEstimate } from "../detect/detector";
import {
  ST_VALID,
  ST_PENDING,
  ST_INVALID,
  LAYER_NONE,
  LAYER_L1,
  LAYER_L2,
  S_PROMOTIONS,
  S_DEMOTIONS,
  S_WRITES_BEGUN,
  S_STALE_FILLS,
  S_EXPIRED,
  E_NOT_FOUND,
  D_OFF,
  D_LEN,
} from "../abi/abi";

// Moves a key from L2 to L1, keeping its reply, state and version.
export function promote(h: u64, key: usize, keyLen: usize): i32 {
  const s = l2();
  const i = slFind(s, h, key, keyLen);
  if (i == NONE) return E_NOT_FOUND;
  const r = l1Put(
    l1(),
    h,
    slKeyPtr(s, i),
    slKeyLen(s, i),
    slReplyPtr(s, i),
    slReplyLen(s, i),
    slState(s, i),
    slVersion(s, i),
    slExpiry(s, i),
  );
  if (r < 0) return r;
  slRemove(s, i);
  statInc(S_PROMOTIONS);
  return LAYER_L1;
}

// Moves a key from L1 to L2 at frequency `freq`.
export function demote(h: u64, key: usize, keyLen: usize, freq: u64): i32 {
  const a = l1();
  const i = l1Find(a, h, key, keyLen);
  if (i == NONE) return E_NOT_FOUND;
  const r = slPut(
    l2(),
    h,
    l1KeyPtr(a, i),
    l1KeyLen(a, i),
    freq,
    l1ReplyPtr(a, i),
    l1ReplyLen(a, i),
    l1State(a, i),
    l1Version(a, i),
    l1Expiry(a, i),
  );
  l1Remove(a, i);
  statInc(S_DEMOTIONS);
  return r < 0 ? LAYER_NONE : LAYER_L2;
}

// A write to the key is about to be forwarded: cached copies stop being served, and the
// returned version is the only one whose reply may refill them.
export function beginWrite(h: u64, key: usize, keyLen: usize): u64 {
  const v = nextVersion();
  statInc(S_WRITES_BEGUN);
  const a = l1();
  const i = l1Find(a, h, key, keyLen);
  if (i != NONE) {
    l1SetState(a, i, ST_PENDING);
    l1SetVersion(a, i, v);
  }
  const s = l2();
  const j = slFind(s, h, key, keyLen);
  if (j != NONE) {
    slSetState(s, j, ST_PENDING);
    slSetVersion(s, j, v);
  }
  return v;
}

// The write of `version` finished. With a reply (replyLen > 0) the cached copy takes it; with
// none (a failed write, a delete) it stays unservable. A stale version changes nothing.
// Returns 1 when applied, 0 when stale or not cached.
export function completeWrite(h: u64, key: usize, keyLen: usize, version: u64, reply: usize, replyLen: usize): i32 {
  const state: u32 = replyLen > 0 ? ST_VALID : ST_INVALID;
  const a = l1();
  const i = l1Find(a, h, key, keyLen);
  if (i != NONE) {
    if (l1Version(a, i) != version || l1State(a, i) != ST_PENDING) return stale();
    if (replyLen == 0) {
      l1SetState(a, i, ST_INVALID);
      return 1;
    }
    return l1Put(a, h, key, keyLen, reply, replyLen, state, version) >= 0 ? 1 : 0;
  }
  const s = l2();
  const j = slFind(s, h, key, keyLen);
  if (j != NONE) {
    if (slVersion(s, j) != version || slState(s, j) != ST_PENDING) return stale();
    if (replyLen == 0) {
      slSetState(s, j, ST_INVALID);
      return 1;
    }
    return slPut(s, h, key, keyLen, slFreq(s, j), reply, replyLen, state, version) >= 0 ? 1 : 0;
  }
  return 0;
}

function stale(): i32 {
  statInc(S_STALE_FILLS);
  return 0;
}

// Offers a value learned from a read reply, taken when the key was looked up at `version`.
// Hot keys go to L1, warm ones to L2, others nowhere. A copy with a newer version, or a write
// in flight, wins. Returns the layer it went to.
export function offer(h: u64, key: usize, keyLen: usize, version: u64, reply: usize, replyLen: usize): i32 {
  const a = l1();
  const s = l2();
  const i = l1Find(a, h, key, keyLen);
  if (i != NONE) {
    if (l1Version(a, i) != version || l1State(a, i) == ST_PENDING) return stale();
    const r = l1Put(a, h, key, keyLen, reply, replyLen, ST_VALID, version);
    return r < 0 ? r : LAYER_L1;
  }
  const j = slFind(s, h, key, keyLen);
  if (j != NONE && (slVersion(s, j) != version || slState(s, j) == ST_PENDING)) return stale();
  const d = detector();
  const f = detEstimate(d, h);
  if (isHot(d, f)) {
    if (j != NONE) slRemove(s, j);
    const r = l1Put(a, h, key, keyLen, reply, replyLen, ST_VALID, version);
    return r < 0 ? r : LAYER_L1;
  }
  if (j != NONE || isWarm(d, f)) {
    const r = slPut(s, h, key, keyLen, f, reply, replyLen, ST_VALID, version);
    return r < 0 ? r : LAYER_L2;
  }
  return LAYER_NONE;
}

// The version a reader must present to offer() later: the cached copy's, or the newest.
export function readVersion(h: u64, key: usize, keyLen: usize): u64 {
  const i = l1Find(l1(), h, key, keyLen);
  if (i != NONE) return l1Version(l1(), i);
  const j = slFind(l2(), h, key, keyLen);
  if (j != NONE) return slVersion(l2(), j);
  return 0;
}

// Demotes every L1 entry whose key the detector no longer reports as hot. Runs from tick().
export function demoteCold(): u32 {
  const a = l1();
  const d = detector();
  let moved: u32 = 0;
  let i = l1Oldest(a);
  while (i != NONE) {
    const next = l1Next(a, i);
    const h = l1Hash(a, i);
    const f = detEstimate(d, h);
    if (!isHot(d, f)) {
      demote(h, l1KeyPtr(a, i), l1KeyLen(a, i), f);
      moved++;
    }
    i = next;
  }
  return moved;
}

// Looks a key up in both layers. On an L2 hit its frequency follows the detector, and a key
// that became hot moves to L1. Returns LAYER_* with the reply's address and length in *out, at a
// descriptor's D_OFF and D_LEN (the burst hands lookup() its tx descriptor), or LAYER_NONE.
export function lookup(h: u64, key: usize, keyLen: usize, f: u64, hot: bool, out: usize): i32 {
  const a = l1();
  const i = l1Count(a) != 0 ? l1Find(a, h, key, keyLen) : NONE;
  if (i != NONE) {
    if (l1State(a, i) != ST_VALID) return LAYER_NONE;
    if (l1Expiry(a, i) <= clock()) {
      // the backend has dropped the item by now: so does kvlb
      l1Remove(a, i);
      statInc(S_EXPIRED);
      return LAYER_NONE;
    }
    store<u32>(out, <u32>l1ReplyPtr(a, i), D_OFF);
    store<u32>(out, l1ReplyLen(a, i), D_LEN);
    return LAYER_L1;
  }
  const s = l2();
  if (slCount(s) == 0) return LAYER_NONE;
  const j = slFind(s, h, key, keyLen);
  if (j == NONE) return LAYER_NONE;
  if (f > slFreq(s, j)) slSetFreq(s, j, f);
  if (hot && promote(h, key, keyLen) == LAYER_L1) return lookup(h, key, keyLen, f, false, out);
  if (slState(s, j) != ST_VALID) return LAYER_NONE;
  if (slExpiry(s, j) <= clock()) {
    slRemove(s, j);
    statInc(S_EXPIRED);
    return LAYER_NONE;
  }
  store<u32>(out, <u32>slReplyPtr(s, j), D_OFF);
  store<u32>(out, slReplyLen(s, j), D_LEN);
  return LAYER_L2;
}
