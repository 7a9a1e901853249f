// The L1 hot-key table: full key bytes -> the cached reply block
// ("VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n"), with a state and a version per entry.
// Bounded in entries (a fixed entry array) and in bytes (the block ring, evicted oldest first).
// Lookup is one index probe plus a key compare.
import { indexFind, indexInsert, indexRemove, indexClear, NONE } from "../util/hash-index";
import { keysEqual } from "../util/keys";
import { align8, statInc } from "../layout/header";
import {
  arenaInit,
  arenaTryAlloc,
  arenaTail,
  arenaPopTail,
  arenaFree,
  arenaCheck,
  arenaNext,
  blockOwner,
  arenaUsed,
  DEAD,
  BLOCK_HEADER,
} from "./arena";
import { ST_FREE, S_L1_EVICTIONS, E_TOO_LARGE } from "../abi/abi";
import { EXPIRY_NEVER } from "./expiry";

export const L1_CONTROL: usize = 64;
export const L1_ENTRY: usize = 40;

const COUNT: usize = 0;
const CAP: usize = 4;
const MASK: usize = 8;
const FREE: usize = 12;
const ENTRIES: usize = 16;
const INDEX: usize = 20;
const ARENA: usize = 32;

// Entry fields.
const E_HASH: usize = 0;
const E_VERSION: usize = 8;
const E_BLOCK: usize = 16;
const E_REPLY_LEN: usize = 20;
const E_KEY_LEN: usize = 24;
const E_STATE: usize = 26;
const E_NEXT: usize = 28;
const E_EXPIRY: usize = 32; // u64, the clock after which the copy is never served

@inline export function l1Count(l: usize): u32 {
  return load<u32>(l + COUNT);
}
@inline export function l1Capacity(l: usize): u32 {
  return load<u32>(l + CAP);
}
@inline export function l1Arena(l: usize): usize {
  return l + ARENA;
}
@inline export function l1Bytes(l: usize): u32 {
  return arenaUsed(l + ARENA);
}
@inline export function l1Entry(l: usize, i: u32): usize {
  return <usize>load<u32>(l + ENTRIES) + <usize>i * L1_ENTRY;
}
@inline export function l1Hash(l: usize, i: u32): u64 {
  return load<u64>(l1Entry(l, i) + E_HASH);
}
@inline export function l1State(l: usize, i: u32): u32 {
  return <u32>load<u8>(l1Entry(l, i) + E_STATE);
}
@inline export function l1SetState(l: usize, i: u32, state: u32): void {
  store<u8>(l1Entry(l, i) + E_STATE, <u8>state);
}
@inline export function l1Version(l: usize, i: u32): u64 {
  return load<u64>(l1Entry(l, i) + E_VERSION);
}
@inline export function l1SetVersion(l: usize, i: u32, v: u64): void {
  store<u64>(l1Entry(l, i) + E_VERSION, v);
}
@inline export function l1Expiry(l: usize, i: u32): u64 {
  return load<u64>(l1Entry(l, i) + E_EXPIRY);
}
@inline export function l1KeyLen(l: usize, i: u32): u32 {
  return <u32>load<u16>(l1Entry(l, i) + E_KEY_LEN);
}
@inline export function l1KeyPtr(l: usize, i: u32): usize {
  return <usize>load<u32>(l1Entry(l, i) + E_BLOCK) + BLOCK_HEADER;
}
@inline export function l1ReplyLen(l: usize, i: u32): u32 {
  return load<u32>(l1Entry(l, i) + E_REPLY_LEN);
}
@inline export function l1ReplyPtr(l: usize, i: u32): usize {
  return l1KeyPtr(l, i) + <usize>l1KeyLen(l, i);
}

export function l1Init(
  l: usize,
  entries: usize,
  index: usize,
  arena: usize,
  cap: u32,
  slots: u32,
  arenaBytes: usize,
): void {
  memory.fill(l, 0, L1_CONTROL);
  store<u32>(l + CAP, cap);
  store<u32>(l + MASK, slots - 1);
  store<u32>(l + ENTRIES, <u32>entries);
  store<u32>(l + INDEX, <u32>index);
  indexClear(index, slots - 1);
  for (let i: u32 = 0; i < cap; i++) {
    const e = l1Entry(l, i);
    memory.fill(e, 0, L1_ENTRY);
    store<u32>(e + E_NEXT, i + 1 < cap ? i + 1 : NONE);
  }
  store<u32>(l + FREE, cap > 0 ? 0 : NONE);
  arenaInit(l + ARENA, arena, arenaBytes);
}

export function l1Find(l: usize, h: u64, key: usize, keyLen: usize): u32 {
  const i = indexFind(<usize>load<u32>(l + INDEX), load<u32>(l + MASK), h);
  if (i == NONE) return NONE;
  if (!keysEqual(l1KeyPtr(l, i), l1KeyLen(l, i), key, keyLen)) return NONE;
  return i;
}

// The entry holding hash h whatever its key: a write's version names its key exactly.
export function l1FindHash(l: usize, h: u64): u32 {
  return indexFind(<usize>load<u32>(l + INDEX), load<u32>(l + MASK), h);
}

export function l1Remove(l: usize, i: u32): void {
  const e = l1Entry(l, i);
  indexRemove(<usize>load<u32>(l + INDEX), load<u32>(l + MASK), load<u64>(e + E_HASH));
  const block = <usize>load<u32>(e + E_BLOCK);
  store<u8>(e + E_STATE, <u8>ST_FREE);
  store<u32>(e + E_BLOCK, 0);
  store<u32>(e + E_NEXT, load<u32>(l + FREE));
  store<u32>(l + FREE, i);
  store<u32>(l + COUNT, load<u32>(l + COUNT) - 1);
  if (block != 0) arenaFree(l + ARENA, block);
}

// Gives up the oldest block; if an entry owned it, that entry is evicted.
function evictTail(l: usize): void {
  const a = l + ARENA;
  const t = arenaTail(a);
  const owner = blockOwner(t);
  if (owner == DEAD) {
    arenaPopTail(a);
  } else {
    l1Remove(l, owner);
    statInc(S_L1_EVICTIONS);
  }
}

function allocBlock(l: usize, size: u32, owner: u32): usize {
  const a = l + ARENA;
  while (true) {
    const b = arenaTryAlloc(a, size, owner);
    if (b != 0) return b;
    evictTail(l);
  }
  return 0;
}

// Stores key -> reply with the given state and version, replacing a previous value of the
// same key. Returns the entry number, or E_TOO_LARGE when the block cannot fit the table.
export function l1Put(
  l: usize,
  h: u64,
  key: usize,
  keyLen: usize,
  reply: usize,
  replyLen: usize,
  state: u32,
  version: u64,
  expiry: u64 = EXPIRY_NEVER,
): i32 {
  const size = <u32>align8(BLOCK_HEADER + keyLen + replyLen);
  if (size > arenaSizeOf(l)) return E_TOO_LARGE;
  const index = <usize>load<u32>(l + INDEX);
  const mask = load<u32>(l + MASK);
  let i = indexFind(index, mask, h);
  if (i != NONE && !keysEqual(l1KeyPtr(l, i), l1KeyLen(l, i), key, keyLen)) {
    l1Remove(l, i); // a 64-bit hash collision: one entry per hash, the newer key wins
    i = NONE;
  }
  if (i != NONE) {
    const e = l1Entry(l, i);
    // Give the old block back first, so that eviction can never pick this entry.
    const old = <usize>load<u32>(e + E_BLOCK);
    store<u32>(e + E_BLOCK, 0);
    arenaFree(l + ARENA, old);
  } else {
    if (load<u32>(l + CAP) == 0) return E_TOO_LARGE;
    while (load<u32>(l + FREE) == NONE) evictTail(l);
    i = load<u32>(l + FREE);
    const e = l1Entry(l, i);
    store<u32>(l + FREE, load<u32>(e + E_NEXT));
    store<u32>(l + COUNT, load<u32>(l + COUNT) + 1);
    store<u64>(e + E_HASH, h);
    store<u16>(e + E_KEY_LEN, <u16>keyLen);
    store<u32>(e + E_BLOCK, 0);
    store<u8>(e + E_STATE, <u8>state);
    indexInsert(index, mask, h, i);
  }
  const block = allocBlock(l, size, i);
  const e = l1Entry(l, i);
  memory.copy(block + BLOCK_HEADER, key, keyLen);
  memory.copy(block + BLOCK_HEADER + keyLen, reply, replyLen);
  store<u32>(e + E_BLOCK, <u32>block);
  store<u32>(e + E_REPLY_LEN, <u32>replyLen);
  store<u8>(e + E_STATE, <u8>state);
  store<u64>(e + E_VERSION, version);
  store<u64>(e + E_EXPIRY, expiry);
  return <i32>i;
}

@inline function arenaSizeOf(l: usize): u32 {
  return load<u32>(l + ARENA + 4);
}

// The oldest entry (first to be evicted), or NONE. With l1Next, walks entries in eviction order.
export function l1Oldest(l: usize): u32 {
  return ownedFrom(l, arenaTail(l + ARENA));
}

export function l1Next(l: usize, i: u32): u32 {
  const block = <usize>load<u32>(l1Entry(l, i) + E_BLOCK);
  return ownedFrom(l, arenaNext(l + ARENA, block));
}

function ownedFrom(l: usize, block: usize): u32 {
  while (block != 0) {
    const owner = blockOwner(block);
    if (owner != DEAD) return owner;
    block = arenaNext(l + ARENA, block);
  }
  return NONE;
}

export function l1Check(l: usize): bool {
  if (!arenaCheck(l + ARENA)) return false;
  const cap = load<u32>(l + CAP);
  let live: u32 = 0;
  for (let i: u32 = 0; i < cap; i++) {
    const e = l1Entry(l, i);
    if (<u32>load<u8>(e + E_STATE) == ST_FREE) continue;
    live++;
    const block = <usize>load<u32>(e + E_BLOCK);
    if (block == 0 || blockOwner(block) != i) return false;
    if (l1Find(l, load<u64>(e + E_HASH), l1KeyPtr(l, i), l1KeyLen(l, i)) != i) return false;
  }
  if (live != load<u32>(l + COUNT)) return false;
  // Every live block in the ring belongs to exactly one live entry.
  let walked: u32 = 0;
  for (let j = l1Oldest(l); j != NONE; j = l1Next(l, j)) {
    if (++walked > live) return false;
  }
  return walked == live;
}
