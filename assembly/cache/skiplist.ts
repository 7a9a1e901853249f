// The L2 skip list: a bounded cache of warm keys ordered by (estimated frequency, key bytes).
// Nodes and their key+reply slots are preallocated; an index by hash finds a node in O(1).
// Insert, frequency update, remove and promote/demote are O(log n) expected; evict-min is
// O(level) because the minimum is always the head's first successor.
import { indexFind, indexInsert, indexRemove, indexClear, NONE } from "../util/hash-index";
import { keysEqual, compareKeys } from "../util/keys";
import { statInc } from "../layout/header";
import { ST_FREE, S_L2_EVICTIONS, E_TOO_LARGE } from "../abi/abi";
import { EXPIRY_NEVER } from "./expiry";

export const MAX_LEVEL: u32 = 16;
export const SL_CONTROL: usize = 128;
export const SL_NODE: usize = 40 + 4 * <usize>MAX_LEVEL;

const COUNT: usize = 0;
const CAP: usize = 4;
const MASK: usize = 8;
const FREE: usize = 12;
const NODES: usize = 16;
const INDEX: usize = 20;
const SLOTS: usize = 24;
const SLOT_BYTES: usize = 28;
const LEVEL: usize = 32;
const RNG: usize = 36;
const UPDATE: usize = 64; // MAX_LEVEL u32: predecessors found by the last search

// Node fields.
const N_HASH: usize = 0;
const N_FREQ: usize = 8;
const N_VERSION: usize = 16;
const N_REPLY_LEN: usize = 24;
const N_KEY_LEN: usize = 28;
const N_LEVEL: usize = 30;
const N_STATE: usize = 31;
const N_EXPIRY: usize = 32; // u64, the clock after which the copy is never served
const N_FWD: usize = 40; // also the free-list link at level 0

@inline function node(s: usize, i: u32): usize {
  return <usize>load<u32>(s + NODES) + <usize>i * SL_NODE;
}
@inline function head(s: usize): u32 {
  return load<u32>(s + CAP); // the sentinel sits after the last node
}
@inline function fwd(s: usize, i: u32, level: u32): u32 {
  return load<u32>(node(s, i) + N_FWD + ((<usize>level) << 2));
}
@inline function setFwd(s: usize, i: u32, level: u32, to: u32): void {
  store<u32>(node(s, i) + N_FWD + ((<usize>level) << 2), to);
}

@inline export function slCount(s: usize): u32 {
  return load<u32>(s + COUNT);
}
@inline export function slCapacity(s: usize): u32 {
  return load<u32>(s + CAP);
}
@inline export function slSlotBytes(s: usize): u32 {
  return load<u32>(s + SLOT_BYTES);
}
@inline export function slExpiry(s: usize, i: u32): u64 {
  return load<u64>(node(s, i) + N_EXPIRY);
}
@inline export function slHash(s: usize, i: u32): u64 {
  return load<u64>(node(s, i) + N_HASH);
}
@inline export function slFreq(s: usize, i: u32): u64 {
  return load<u64>(node(s, i) + N_FREQ);
}
@inline export function slVersion(s: usize, i: u32): u64 {
  return load<u64>(node(s, i) + N_VERSION);
}
@inline export function slSetVersion(s: usize, i: u32, v: u64): void {
  store<u64>(node(s, i) + N_VERSION, v);
}
@inline export function slState(s: usize, i: u32): u32 {
  return <u32>load<u8>(node(s, i) + N_STATE);
}
@inline export function slSetState(s: usize, i: u32, state: u32): void {
  store<u8>(node(s, i) + N_STATE, <u8>state);
}
@inline export function slKeyLen(s: usize, i: u32): u32 {
  return <u32>load<u16>(node(s, i) + N_KEY_LEN);
}
@inline export function slKeyPtr(s: usize, i: u32): usize {
  return <usize>load<u32>(s + SLOTS) + <usize>i * <usize>load<u32>(s + SLOT_BYTES);
}
@inline export function slReplyLen(s: usize, i: u32): u32 {
  return load<u32>(node(s, i) + N_REPLY_LEN);
}
@inline export function slReplyPtr(s: usize, i: u32): usize {
  return slKeyPtr(s, i) + <usize>slKeyLen(s, i);
}

export function slNodeBytes(cap: u32): usize {
  return (<usize>cap + 1) * SL_NODE;
}

export function slInit(
  s: usize,
  nodes: usize,
  index: usize,
  slots: usize,
  cap: u32,
  indexSlots: u32,
  slotBytes: u32,
  seed: u32,
): void {
  memory.fill(s, 0, SL_CONTROL);
  store<u32>(s + CAP, cap);
  store<u32>(s + MASK, indexSlots - 1);
  store<u32>(s + NODES, <u32>nodes);
  store<u32>(s + INDEX, <u32>index);
  store<u32>(s + SLOTS, <u32>slots);
  store<u32>(s + SLOT_BYTES, slotBytes);
  store<u32>(s + LEVEL, 1);
  store<u32>(s + RNG, seed | 1);
  indexClear(index, indexSlots - 1);
  memory.fill(nodes, 0, slNodeBytes(cap));
  const h = head(s);
  for (let l: u32 = 0; l < MAX_LEVEL; l++) setFwd(s, h, l, NONE);
  for (let i: u32 = 0; i < cap; i++) setFwd(s, i, 0, i + 1 < cap ? i + 1 : NONE);
  store<u32>(s + FREE, cap > 0 ? 0 : NONE);
}

// Geometric levels with p = 1/4 from a xorshift32 kept in the control block.
function randomLevel(s: usize): u32 {
  let x = load<u32>(s + RNG);
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  store<u32>(s + RNG, x);
  const level = 1 + (ctz<u32>(x | 0x80000000) >> 1);
  return <u32>level < MAX_LEVEL ? <u32>level : MAX_LEVEL;
}

// Whether node i orders before (freq, key).
function before(s: usize, i: u32, freq: u64, key: usize, keyLen: usize): bool {
  const f = slFreq(s, i);
  if (f != freq) return f < freq;
  return compareKeys(slKeyPtr(s, i), slKeyLen(s, i), key, keyLen) < 0;
}

// Fills UPDATE with the last node before (freq, key) at each level.
function searchPredecessors(s: usize, freq: u64, key: usize, keyLen: usize): void {
  let x = head(s);
  for (let l = <i32>load<u32>(s + LEVEL) - 1; l >= 0; l--) {
    while (true) {
      const nx = fwd(s, x, <u32>l);
      if (nx == NONE || !before(s, nx, freq, key, keyLen)) break;
      x = nx;
    }
    store<u32>(s + UPDATE + ((<usize>l) << 2), x);
  }
}

function link(s: usize, i: u32): void {
  searchPredecessors(s, slFreq(s, i), slKeyPtr(s, i), slKeyLen(s, i));
  const level = <u32>load<u8>(node(s, i) + N_LEVEL);
  let top = load<u32>(s + LEVEL);
  while (top < level) {
    store<u32>(s + UPDATE + ((<usize>top) << 2), head(s));
    top++;
  }
  store<u32>(s + LEVEL, top);
  for (let l: u32 = 0; l < level; l++) {
    const p = load<u32>(s + UPDATE + ((<usize>l) << 2));
    setFwd(s, i, l, fwd(s, p, l));
    setFwd(s, p, l, i);
  }
}

function unlink(s: usize, i: u32): void {
  searchPredecessors(s, slFreq(s, i), slKeyPtr(s, i), slKeyLen(s, i));
  const level = <u32>load<u8>(node(s, i) + N_LEVEL);
  for (let l: u32 = 0; l < level; l++) {
    const p = load<u32>(s + UPDATE + ((<usize>l) << 2));
    if (fwd(s, p, l) == i) setFwd(s, p, l, fwd(s, i, l));
  }
  shrinkLevel(s);
}

function shrinkLevel(s: usize): void {
  let top = load<u32>(s + LEVEL);
  while (top > 1 && fwd(s, head(s), top - 1) == NONE) top--;
  store<u32>(s + LEVEL, top);
}

export function slFind(s: usize, h: u64, key: usize, keyLen: usize): u32 {
  const i = indexFind(<usize>load<u32>(s + INDEX), load<u32>(s + MASK), h);
  if (i == NONE) return NONE;
  if (!keysEqual(slKeyPtr(s, i), slKeyLen(s, i), key, keyLen)) return NONE;
  return i;
}

export function slFindHash(s: usize, h: u64): u32 {
  return indexFind(<usize>load<u32>(s + INDEX), load<u32>(s + MASK), h);
}

// The node with the lowest (frequency, key), or NONE.
@inline export function slMin(s: usize): u32 {
  return fwd(s, head(s), 0);
}

// The node after i in ascending order, or NONE.
@inline export function slNext(s: usize, i: u32): u32 {
  return fwd(s, i, 0);
}

function release(s: usize, i: u32): void {
  indexRemove(<usize>load<u32>(s + INDEX), load<u32>(s + MASK), slHash(s, i));
  store<u8>(node(s, i) + N_STATE, <u8>ST_FREE);
  setFwd(s, i, 0, load<u32>(s + FREE));
  store<u32>(s + FREE, i);
  store<u32>(s + COUNT, load<u32>(s + COUNT) - 1);
}

export function slRemove(s: usize, i: u32): void {
  unlink(s, i);
  release(s, i);
}

// Removes and returns the minimum, in O(level): it is first at every level it occupies.
export function slEvictMin(s: usize): u32 {
  const i = slMin(s);
  if (i == NONE) return NONE;
  const level = <u32>load<u8>(node(s, i) + N_LEVEL);
  const h = head(s);
  for (let l: u32 = 0; l < level; l++) setFwd(s, h, l, fwd(s, i, l));
  shrinkLevel(s);
  release(s, i);
  return i;
}

export function slSetFreq(s: usize, i: u32, freq: u64): void {
  if (slFreq(s, i) == freq) return;
  unlink(s, i);
  store<u64>(node(s, i) + N_FREQ, freq);
  link(s, i);
}

// Stores key -> reply at `freq`, evicting the minimum when full. Returns the node number, or
// E_TOO_LARGE when key and reply exceed a slot.
export function slPut(
  s: usize,
  h: u64,
  key: usize,
  keyLen: usize,
  freq: u64,
  reply: usize,
  replyLen: usize,
  state: u32,
  version: u64,
  expiry: u64 = EXPIRY_NEVER,
): i32 {
  if (keyLen + replyLen > <usize>load<u32>(s + SLOT_BYTES) || load<u32>(s + CAP) == 0) {
    return E_TOO_LARGE;
  }
  const index = <usize>load<u32>(s + INDEX);
  const mask = load<u32>(s + MASK);
  let i = indexFind(index, mask, h);
  if (i != NONE && !keysEqual(slKeyPtr(s, i), slKeyLen(s, i), key, keyLen)) {
    slRemove(s, i); // a 64-bit hash collision: the newer key wins
    i = NONE;
  }
  if (i != NONE) {
    unlink(s, i);
  } else {
    if (load<u32>(s + FREE) == NONE) {
      slEvictMin(s);
      statInc(S_L2_EVICTIONS);
    }
    i = load<u32>(s + FREE);
    store<u32>(s + FREE, fwd(s, i, 0));
    store<u32>(s + COUNT, load<u32>(s + COUNT) + 1);
    const n = node(s, i);
    store<u64>(n + N_HASH, h);
    store<u8>(n + N_LEVEL, <u8>randomLevel(s));
    indexInsert(index, mask, h, i);
  }
  const n = node(s, i);
  store<u64>(n + N_FREQ, freq);
  store<u64>(n + N_VERSION, version);
  store<u64>(n + N_EXPIRY, expiry);
  store<u16>(n + N_KEY_LEN, <u16>keyLen);
  store<u32>(n + N_REPLY_LEN, <u32>replyLen);
  store<u8>(n + N_STATE, <u8>state);
  const slot = slKeyPtr(s, i);
  memory.copy(slot, key, keyLen);
  memory.copy(slot + keyLen, reply, replyLen);
  link(s, i);
  return <i32>i;
}

// Halves every frequency and rebuilds the order (used when the detector's window decays).
export function slHalve(s: usize): void {
  const h = head(s);
  let order = fwd(s, h, 0);
  for (let l: u32 = 0; l < MAX_LEVEL; l++) setFwd(s, h, l, NONE);
  store<u32>(s + LEVEL, 1);
  while (order != NONE) {
    const next = fwd(s, order, 0);
    store<u64>(node(s, order) + N_FREQ, slFreq(s, order) >> 1);
    link(s, order);
    order = next;
  }
}

export function slCheck(s: usize): bool {
  const cap = load<u32>(s + CAP);
  let live: u32 = 0;
  for (let i: u32 = 0; i < cap; i++) {
    if (slState(s, i) == ST_FREE) continue;
    live++;
    if (slFind(s, slHash(s, i), slKeyPtr(s, i), slKeyLen(s, i)) != i) return false;
  }
  if (live != load<u32>(s + COUNT)) return false;
  // Level 0 is strictly ascending and holds every live node; each higher level is ascending.
  for (let l: u32 = 0; l < load<u32>(s + LEVEL); l++) {
    let walked: u32 = 0;
    let prev = NONE;
    for (let i = fwd(s, head(s), l); i != NONE; i = fwd(s, i, l)) {
      if (++walked > live) return false;
      if (slState(s, i) == ST_FREE) return false;
      if (prev != NONE && !before(s, prev, slFreq(s, i), slKeyPtr(s, i), slKeyLen(s, i))) return false;
      prev = i;
    }
    if (l == 0 && walked != live) return false;
  }
  return true;
}
