// The caches' side of forwarded traffic (docs/balancer.md, "Consistency"): a write marks the cached
// copy PENDING under its version before it is forwarded (a set stages its new value there);
// its reply makes the staged value servable only if the write succeeded and overlapped no
// other write, and otherwise drops the copy. A read reply fills a cache only if the write
// barrier shows no write since the read was forwarded.
import { l1Find, l1FindHash, l1Put, l1Remove, l1Version, l1SetVersion, l1SetState, l1State, l1Capacity } from "./l1";
import { slFind, slFindHash, slPut, slRemove, slVersion, slSetVersion, slSetState, slFreq, slState } from "./skiplist";
import { barrierBegin, barrierEnd, barrierAllows, barrierHold } from "./barrier";
import { afterPurge } from "./purge";
import { peerEmit } from "./peers";
import { NONE } from "../util/hash-index";
import { l1, l2, detector } from "../layout/regions";
import { isHot } from "../detect/table";
import { warmOn, l2Takes } from "./admission";
import { detEstimate } from "../detect/detector";
import { statInc, clock, requestTimeout } from "../layout/header";
import { EXPIRY_NEVER } from "./expiry";
import {
  PE_BEGIN,
  PE_END,
  ST_PENDING,
  ST_VALID,
  S_WRITES_BEGUN,
  S_WRITES_DONE,
  S_FILLS,
  S_STALE_FILLS,
} from "../abi/abi";

// Whether either layer holds the key (a set then stages its value there).
export function isCached(h: u64, key: usize, keyLen: usize): bool {
  return l1Find(l1(), h, key, keyLen) != NONE || slFind(l2(), h, key, keyLen) != NONE;
}

// Starts a write of key (hash h). With a staged block (stagedLen > 0), a cached copy takes it
// as PENDING. Returns the write's version; *staged (u8 at `stagedOut`) says whether a copy
// holds the new value.
export function writeBegin(
  h: u64,
  key: usize,
  keyLen: usize,
  block: usize,
  blockLen: usize,
  stagedOut: usize,
  expiry: u64 = EXPIRY_NEVER,
): u64 {
  const v = barrierBegin(h);
  peerEmit(h, PE_BEGIN);
  statInc(S_WRITES_BEGUN);
  let staged: u8 = 0;
  const a = l1();
  const i = l1Find(a, h, key, keyLen);
  if (i != NONE) {
    if (blockLen > 0 && l1Put(a, h, key, keyLen, block, blockLen, ST_PENDING, v, expiry) >= 0) staged = 1;
    else {
      l1SetState(a, i, ST_PENDING);
      l1SetVersion(a, i, v);
    }
  }
  const s = l2();
  const j = slFind(s, h, key, keyLen);
  if (j != NONE) {
    if (blockLen > 0 && slPut(s, h, key, keyLen, slFreq(s, j), block, blockLen, ST_PENDING, v, expiry) >= 0) staged = 1;
    else {
      slSetState(s, j, ST_PENDING);
      slSetVersion(s, j, v);
    }
  }
  store<u8>(stagedOut, staged);
  return v;
}

// The write of version v to hash h is over: answered (ok says whether it succeeded) or timed out.
// Returns true when it succeeded and overlapped no other write: what it wrote is the backend's.
export function writeEnd(h: u64, v: u64, ok: bool, staged: bool): bool {
  const alone = barrierEnd(h);
  peerEmit(h, PE_END);
  statInc(S_WRITES_DONE);
  const keep = ok && staged && alone;
  const a = l1();
  const i = l1FindHash(a, h);
  if (i != NONE && l1Version(a, i) == v && l1State(a, i) == ST_PENDING) {
    if (keep) l1SetState(a, i, ST_VALID);
    else l1Remove(a, i);
  }
  const s = l2();
  const j = slFindHash(s, h);
  if (j != NONE && slVersion(s, j) == v && slState(s, j) == ST_PENDING) {
    if (keep) slSetState(s, j, ST_VALID);
    else slRemove(s, j);
  }
  return ok && alone;
}

// A write that timed out: closed as failed, and its key held uncached for WRITE_HOLD_TIMEOUTS
// request timeouts, in case the backend applies it late.
export const WRITE_HOLD_TIMEOUTS: u64 = 10;
export function writeTimedOut(h: u64, v: u64): void {
  writeEnd(h, v, false, false);
  barrierHold(h, clock() + WRITE_HOLD_TIMEOUTS * requestTimeout());
}

// A request changed the key's expiry (gat, gats): cached copies are dropped, and no read fills
// the key until the request has surely been applied.
export function expiryChanged(h: u64, key: usize, keyLen: usize, stagedOut: usize): void {
  writeEnd(h, writeBegin(h, key, keyLen, 0, 0, stagedOut), false, false);
  barrierHold(h, clock() + 2 * requestTimeout());
}

// Whether a value read for this key, homed on backend b, would be taken into a cache: hot with
// room in L1, or in L2 already, or warm enough for b's bar (cache/admission.ts) with L2 taking
// it. With the caches off, never: kvlb then asks the backends for nothing but what its clients
// asked, and what replica sets need (cache/replicas.ts).
export function fillWanted(h: u64, key: usize, keyLen: usize, b: u32): bool {
  const d = detector();
  const f = detEstimate(d, h);
  if (isHot(d, f)) return l1Capacity(l1()) != 0;
  const s = l2();
  return slFind(s, h, key, keyLen) != NONE || (warmOn(d, f, b) && l2Takes(s, f));
}

// A value block read from backend b for a request forwarded at `stamp`, servable until
// `expiry`: hot keys go to L1, warm ones to L2. Refused when a write touched the key's bucket
// since the stamp.
export function fillFromRead(
  h: u64,
  key: usize,
  keyLen: usize,
  stamp: u64,
  block: usize,
  blockLen: usize,
  expiry: u64,
  b: u32,
): void {
  const d = detector();
  const f = detEstimate(d, h);
  const hot = isHot(d, f);
  const s = l2();
  const j = slFind(s, h, key, keyLen);
  if (!hot && j == NONE && !(warmOn(d, f, b) && l2Takes(s, f))) return;
  if (!barrierAllows(h, stamp) || !afterPurge(stamp)) {
    statInc(S_STALE_FILLS);
    return;
  }
  if (hot) {
    if (j != NONE) slRemove(s, j);
    if (l1Put(l1(), h, key, keyLen, block, blockLen, ST_VALID, stamp, expiry) >= 0) statInc(S_FILLS);
    return;
  }
  const a = l1();
  const i = l1Find(a, h, key, keyLen);
  if (i != NONE) {
    if (l1Put(a, h, key, keyLen, block, blockLen, ST_VALID, stamp, expiry) >= 0) statInc(S_FILLS);
    return;
  }
  if (slPut(s, h, key, keyLen, f, block, blockLen, ST_VALID, stamp, expiry) >= 0) statInc(S_FILLS);
}
