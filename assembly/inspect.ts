// What the control plane, the tests and the benches read and drive directly, apart from the
// data path (index.ts): the detector's entries, each cache layer's operations and contents,
// and the write protocol of both layers. Key arguments are (address, length) pairs in linear
// memory, validated here. index.ts exports all of it.
import { R_IO, E_NOT_READY, E_BOUNDS, E_IO, ST_VALID, TK_F } from "./abi/abi";
import { regionOffset, regionSize } from "./layout/header";
import { detector, l1, l2 } from "./layout/regions";
import { detEstimate, DETECTOR, MODULE_VERSION } from "./detect/detector";
import { keyHash } from "./util/hash";
import { expiryAfter } from "./cache/expiry";
import { NONE } from "./util/hash-index";
import { lcWidth, lcBucket } from "./detect/lossy";
import {
  trackedCount,
  trackedCapacity,
  trackedTotal,
  trackedEntry,
  trackedFind,
  isHot,
  TABLE_ENTRY,
} from "./detect/table";
import {
  l1Put,
  l1Find,
  l1Remove,
  l1Count,
  l1Bytes,
  l1Oldest,
  l1Next,
  l1KeyPtr,
  l1KeyLen,
  l1ReplyPtr,
  l1ReplyLen,
  l1State,
  l1Version,
} from "./cache/l1";
import {
  slPut,
  slFind,
  slRemove,
  slSetFreq,
  slEvictMin,
  slMin,
  slNext,
  slCount,
  slKeyPtr,
  slKeyLen,
  slReplyPtr,
  slReplyLen,
  slState,
  slVersion,
  slFreq,
} from "./cache/skiplist";
import {
  promote as promoteKey,
  demote as demoteKey,
  beginWrite,
  completeWrite,
  offer as offerValue,
  readVersion,
} from "./cache/layers";

import { ready, inMemory, keyError, found } from "./export-args";

export function hash(ptr: usize, len: usize): u64 {
  return keyHash(ptr, len);
}

// ---- detector ----
export function detect_count(): u32 {
  return trackedCount(detector());
}
export function detect_capacity(): u32 {
  return trackedCapacity(detector());
}
export function detect_total(): u64 {
  return trackedTotal(detector());
}
export function detect_width(): u64 {
  return lcWidth(detector());
}
export function detect_bucket(): u64 {
  return lcBucket(detector());
}

// The estimate f of a key hash, or 0 when it is not tracked.
// (Count-Min has an estimate for every key, listed or not.)
export function detect_estimate(h: u64): u64 {
  return detEstimate(detector(), h);
}

// Which detector this module was built with (DET_*), and its version.
export function detector_kind(): u32 {
  return DETECTOR;
}
export function module_version(): u32 {
  return MODULE_VERSION;
}

// Δ of a key hash, or u64 max when it is not tracked.
export function detect_delta(h: u64): u64 {
  const i = trackedFind(detector(), h);
  return i == NONE ? <u64>-1 : load<u64>(trackedEntry(detector(), i), 16);
}

// Copies (hash, f, Δ) of the reported keys (f >= (s - ε)N), or of every entry when `all`, to
// the IO region. Returns how many.
export function detect_report(all: u32): i32 {
  if (!ready()) return E_NOT_READY;
  const d = detector();
  const out = regionOffset(R_IO);
  const room = <u32>(regionSize(R_IO) / TABLE_ENTRY);
  let k: u32 = 0;
  for (let i: u32 = 0; i < trackedCount(d); i++) {
    const e = trackedEntry(d, i);
    if (all == 0 && !isHot(d, load<u64>(e, TK_F))) continue;
    if (k == room) return E_IO;
    memory.copy(out + <usize>k * TABLE_ENTRY, e, TABLE_ENTRY);
    k++;
  }
  return <i32>k;
}

// ---- L1 ----
export function l1_put(key: usize, keyLen: usize, reply: usize, replyLen: usize): i32 {
  const e = keyError(key, keyLen);
  if (e != 0) return e;
  if (!inMemory(reply, replyLen)) return E_BOUNDS;
  return l1Put(l1(), keyHash(key, keyLen), key, keyLen, reply, replyLen, ST_VALID, 0);
}
export function l1_find(key: usize, keyLen: usize): i32 {
  const e = keyError(key, keyLen);
  return e != 0 ? e : found(l1Find(l1(), keyHash(key, keyLen), key, keyLen));
}
export function l1_remove(key: usize, keyLen: usize): i32 {
  const i = l1_find(key, keyLen);
  if (i < 0) return i;
  l1Remove(l1(), <u32>i);
  return 0;
}
export function l1_count(): u32 {
  return l1Count(l1());
}
export function l1_bytes(): u32 {
  return l1Bytes(l1());
}
export function l1_oldest(): i32 {
  return found(l1Oldest(l1()));
}
export function l1_next(i: u32): i32 {
  return found(l1Next(l1(), i));
}
export function l1_key(i: u32): usize {
  return l1KeyPtr(l1(), i);
}
export function l1_key_len(i: u32): u32 {
  return l1KeyLen(l1(), i);
}
export function l1_reply(i: u32): usize {
  return l1ReplyPtr(l1(), i);
}
export function l1_reply_len(i: u32): u32 {
  return l1ReplyLen(l1(), i);
}
export function l1_state(i: u32): u32 {
  return l1State(l1(), i);
}
export function l1_version(i: u32): u64 {
  return l1Version(l1(), i);
}

// ---- L2 ----
export function l2_put(key: usize, keyLen: usize, freq: u64, reply: usize, replyLen: usize): i32 {
  const e = keyError(key, keyLen);
  if (e != 0) return e;
  if (!inMemory(reply, replyLen)) return E_BOUNDS;
  return slPut(l2(), keyHash(key, keyLen), key, keyLen, freq, reply, replyLen, ST_VALID, 0);
}
export function l2_find(key: usize, keyLen: usize): i32 {
  const e = keyError(key, keyLen);
  return e != 0 ? e : found(slFind(l2(), keyHash(key, keyLen), key, keyLen));
}
export function l2_remove(key: usize, keyLen: usize): i32 {
  const i = l2_find(key, keyLen);
  if (i < 0) return i;
  slRemove(l2(), <u32>i);
  return 0;
}
export function l2_set_freq(key: usize, keyLen: usize, freq: u64): i32 {
  const i = l2_find(key, keyLen);
  if (i < 0) return i;
  slSetFreq(l2(), <u32>i, freq);
  return 0;
}
export function l2_evict_min(): i32 {
  return ready() ? found(slEvictMin(l2())) : E_NOT_READY;
}
export function l2_min(): i32 {
  return found(slMin(l2()));
}
export function l2_next(i: u32): i32 {
  return found(slNext(l2(), i));
}
export function l2_count(): u32 {
  return slCount(l2());
}
export function l2_key(i: u32): usize {
  return slKeyPtr(l2(), i);
}
export function l2_key_len(i: u32): u32 {
  return slKeyLen(l2(), i);
}
export function l2_reply(i: u32): usize {
  return slReplyPtr(l2(), i);
}
export function l2_reply_len(i: u32): u32 {
  return slReplyLen(l2(), i);
}
export function l2_state(i: u32): u32 {
  return slState(l2(), i);
}
export function l2_version(i: u32): u64 {
  return slVersion(l2(), i);
}
export function l2_freq(i: u32): u64 {
  return slFreq(l2(), i);
}

// ---- both layers ----
export function promote(key: usize, keyLen: usize): i32 {
  const e = keyError(key, keyLen);
  return e != 0 ? e : promoteKey(keyHash(key, keyLen), key, keyLen);
}
export function demote(key: usize, keyLen: usize, freq: u64): i32 {
  const e = keyError(key, keyLen);
  return e != 0 ? e : demoteKey(keyHash(key, keyLen), key, keyLen, freq);
}
// Returns the write's version, or 0 on a bad key.
export function begin_write(key: usize, keyLen: usize): u64 {
  if (keyError(key, keyLen) != 0) return 0;
  return beginWrite(keyHash(key, keyLen), key, keyLen);
}
export function complete_write(key: usize, keyLen: usize, version: u64, reply: usize, replyLen: usize): i32 {
  const e = keyError(key, keyLen);
  if (e != 0) return e;
  if (!inMemory(reply, replyLen)) return E_BOUNDS;
  return completeWrite(keyHash(key, keyLen), key, keyLen, version, reply, replyLen);
}
export function offer(key: usize, keyLen: usize, version: u64, reply: usize, replyLen: usize): i32 {
  const e = keyError(key, keyLen);
  if (e != 0) return e;
  if (!inMemory(reply, replyLen)) return E_BOUNDS;
  return offerValue(keyHash(key, keyLen), key, keyLen, version, reply, replyLen);
}
export function read_version(key: usize, keyLen: usize): u64 {
  if (keyError(key, keyLen) != 0) return 0;
  return readVersion(keyHash(key, keyLen), key, keyLen);
}

export function expiry_after(sentAt: u64, ttl: i64): u64 {
  return expiryAfter(sentAt, ttl);
}
