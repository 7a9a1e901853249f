// The core's exported ABI (docs/core-abi.md). The data path is process(n),
// one call per burst; everything else is the control plane's and the tests' view of the state.
// Key arguments are (address, length) pairs in linear memory, validated here.
import { expireRequests } from "./proxy/timers";
import { initProxy } from "./proxy/init";
import { outReset } from "./io/out-ring";
import { framesOn, poolInit } from "./io/frame-pool";
import { framesFinish } from "./frame/tx";
import { neighClear } from "./frame/neigh";
import {
  ABI_VERSION,
  HEADER_BASE,
  H_STATE,
  H_TOTAL,
  H_CLOCK,
  H_MAGIC,
  H_ABI,
  H_LAYOUT,
  MAGIC,
  LAYOUT_VERSION,
  HS_PLANNED,
  HS_READY,
  R_IO,
  STATS_BASE,
  STATS_SLOTS,
  E_MEMORY,
  E_NOT_READY,
  E_KEY,
  E_NOT_FOUND,
  E_BOUNDS,
  E_IO,
  E_STATE_HEADER,
  E_STATE_DETECT,
  E_STATE_L1,
  E_STATE_L2,
  ST_VALID,
} from "./shared/abi";
import { headerState, memoryBytes, regionOffset, regionSize } from "./layout/header";
import { plan as planLayout } from "./setup/plan";
import { detector, l1, l2 } from "./layout/regions";
import { initTables } from "./cache/tables";
import { processBurst } from "./burst";
import { FAULT, FAULT_ABI, FAULT_INIT, FAULT_RESTORE, FAULT_MEMORY } from "./util/fault";
import { peerApply } from "./cache/peers";
import { detCheck, detEstimate, DETECTOR, MODULE_VERSION } from "./detect/detector";
import { keyHash } from "./util/hash";
import { keyValid } from "./protocol/keys";
import { NONE } from "./util/hash-index";
import { lcCount, lcCapacity, lcTotal, lcWidth, lcBucket, lcEntry, lcFind, lcIsHot, LC_ENTRY } from "./detect/lossy";
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
  l1Check,
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
  slCheck,
} from "./cache/skiplist";
import {
  promote as promoteKey,
  demote as demoteKey,
  beginWrite,
  completeWrite,
  offer as offerValue,
  readVersion,
  demoteCold,
} from "./cache/layers";
import { writeSnapshot, writeDetectorSnapshot } from "./snapshot/write";
import { readSnapshot, readDetectorSnapshot } from "./snapshot/read";

export function abi_version(): u32 {
  return FAULT == FAULT_ABI ? ABI_VERSION + 1 : ABI_VERSION;
}

// Lays out the regions from the config block. The host then reads the size it needs from the
// header, grows the memory to fit, and calls init().
export function plan(): i32 {
  const r = planLayout();
  if (FAULT == FAULT_MEMORY && r >= 0) store<u32>(HEADER_BASE + H_TOTAL, <u32>r + (256 << 20));
  return r < 0 ? <i32>r : 0;
}

export function init(): i32 {
  if (FAULT == FAULT_INIT) unreachable();
  if (headerState() != HS_PLANNED && headerState() != HS_READY) return E_NOT_READY;
  if (<usize>load<u32>(HEADER_BASE + H_TOTAL) > memoryBytes()) return E_MEMORY;
  memory.fill(STATS_BASE, 0, STATS_SLOTS * 8);
  initTables();
  initProxy();
  if (framesOn()) {
    poolInit();
    neighClear();
  }
  store<u32>(HEADER_BASE + H_STATE, HS_READY);
  return 0;
}

@inline function ready(): bool {
  return headerState() == HS_READY;
}

export function process(n: u32): i32 {
  if (!ready()) return E_NOT_READY;
  const r = processBurst(n);
  if (framesOn()) framesFinish();
  return r;
}

// Timers: expire requests no backend answered (their out datagrams are appended to the
// ring process() filled), and move keys the detector stopped reporting from L1 down to L2.
export function tick(now: u64): i32 {
  if (!ready()) return E_NOT_READY;
  store<u64>(HEADER_BASE + H_CLOCK, now);
  // on the frame layer, the host sends each burst's output before it ticks
  if (framesOn()) outReset();
  expireRequests();
  const demoted = <i32>demoteCold();
  if (framesOn()) framesFinish();
  return demoted;
}

export { set_backends, route_key, nat_used, set_backend_state, purge_cache } from "./proxy/exports";
export { process_frames, frame_port, neigh_static, neigh_clear, arp_ask, burst_abandon } from "./frame/exports";

// Applies n write events of other workers, which the host wrote into R_PEER's in list.
export function peer_writes(n: u32): i32 {
  if (!ready()) return E_NOT_READY;
  return peerApply(n);
}

export function snapshot(): i32 {
  if (!ready()) return E_NOT_READY;
  return writeSnapshot();
}

export function restore(len: u32): i32 {
  if (FAULT == FAULT_RESTORE) unreachable();
  if (!ready()) return E_NOT_READY;
  return readSnapshot(len);
}

// The detector alone, for a module swap: every module lays out the caches alike, so they stay
// in place, and only the detector's state goes through the neutral format.
export function snapshot_detector(): i32 {
  if (!ready()) return E_NOT_READY;
  return writeDetectorSnapshot();
}

export function restore_detector(len: u32): i32 {
  if (FAULT == FAULT_RESTORE) unreachable();
  if (!ready()) return E_NOT_READY;
  return readDetectorSnapshot(len);
}

// 0 when every structure is consistent; otherwise the code of the first broken one.
export function check_state(): i32 {
  const r = check_detector();
  if (r != 0) return r;
  if (!l1Check(l1())) return E_STATE_L1;
  if (!slCheck(l2())) return E_STATE_L2;
  return 0;
}

// The header and the detector alone: what a swap through the detector snapshot changed.
export function check_detector(): i32 {
  if (
    load<u32>(HEADER_BASE + H_MAGIC) != MAGIC ||
    load<u32>(HEADER_BASE + H_ABI) != ABI_VERSION ||
    load<u32>(HEADER_BASE + H_LAYOUT) != LAYOUT_VERSION ||
    !ready()
  )
    return E_STATE_HEADER;
  return detCheck(detector()) ? 0 : E_STATE_DETECT;
}

export function hash(ptr: usize, len: usize): u64 {
  return keyHash(ptr, len);
}

@inline function inMemory(ptr: usize, len: usize): bool {
  return ptr + len >= ptr && ptr + len <= memoryBytes();
}

// Validates a key argument: 0 when usable, else an error code.
function keyError(ptr: usize, len: usize): i32 {
  if (!ready()) return E_NOT_READY;
  if (!inMemory(ptr, len)) return E_BOUNDS;
  return keyValid(ptr, len) ? 0 : E_KEY;
}

@inline function found(i: u32): i32 {
  return i == NONE ? E_NOT_FOUND : <i32>i;
}

// ---- detector ----
export function detect_count(): u32 {
  return lcCount(detector());
}
export function detect_capacity(): u32 {
  return lcCapacity(detector());
}
export function detect_total(): u64 {
  return lcTotal(detector());
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
  const i = lcFind(detector(), h);
  return i == NONE ? <u64>-1 : load<u64>(lcEntry(detector(), i), 16);
}

// Copies (hash, f, Δ) of the reported keys (f >= (s - ε)N), or of every entry when `all`, to
// the IO region. Returns how many.
export function detect_report(all: u32): i32 {
  if (!ready()) return E_NOT_READY;
  const d = detector();
  const out = regionOffset(R_IO);
  const room = <u32>(regionSize(R_IO) / LC_ENTRY);
  let k: u32 = 0;
  for (let i: u32 = 0; i < lcCount(d); i++) {
    const e = lcEntry(d, i);
    if (all == 0 && !lcIsHot(d, load<u64>(e, 8))) continue;
    if (k == room) return E_IO;
    memory.copy(out + <usize>k * LC_ENTRY, e, LC_ENTRY);
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
