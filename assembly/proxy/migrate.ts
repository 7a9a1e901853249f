// Live migration: while a window is open after a reload changed the ring, a key whose owner
// changed (moved) is still found where it was.
//
// - A client's read of a moved key (get, gets, gat, gats, mg, a binary get) goes to the new
//   owner, a get of several keys sending each moved key in a request of its own (askMoved); the
//   request is kept in a slot of its NAT entry. When that misses, and no write of the key has
//   begun since the read came in, the same request is sent on to the old owner, whose answer the
//   client gets (a write that overlapped the read sends it to the new owner again: fallBack);
//   beside it kvlb asks the old owner for the value and its TTL (mg <key> v f t k) and writes
//   that to the new owner as an add (ms ... ME), so the next read hits there. An add never
//   replaces a value a client set meanwhile.
// - A client's write of a moved key goes to the new owner, and kvlb deletes the key at the old
//   one (md), counted as a write on the barrier until answered, so no get falls back to the old
//   value meanwhile; one that goes unanswered keeps the key's bucket from falling back until the
//   window closes.
// - An add that reached the new owner after a client's delete would bring the value back, so a
//   delete of a moved key whose copy is in flight is answered SERVER_ERROR (try again) instead.
// - The host's mover (migrate_keys) asks for copies of the keys it names, hottest first, a few
//   each tick (moverTick). With several workers, a copy's begin and end reach the others as
//   write events do.
import { clock, statInc, regionOffset, requestTimeout, cfgU32 } from "../layout/header";
import { keyHash } from "../util/hash";
import {
  barrierMoveAllows,
  barrierBegin,
  barrierEnd,
  barrierMoveHold,
  barrierCopyBegin,
  barrierCopyEnd,
  barrierCopying,
  readStamp,
} from "../cache/barrier";
import { peerEmit, peerRoomForWrite } from "../cache/peers";
import { ringHash } from "../route/ketama";
import { migrating, oldOwner, NO_OWNER } from "../route/old-ring";
import { backendDone } from "../route/backends";
import { readVa, VA_FLAGS, VA_FLAGS_END, VA_KEY, VA_KEY_END, VA_TTL, VA_SIZE, VA_DATA } from "../protocol/meta-value";
import { startsWith, tokenEnd, skipSpaces } from "../protocol/text";
import {
  BIN_HEADER,
  BIN_RESPONSE,
  BH_OPCODE,
  BS_KEY_NOT_FOUND,
  binKeyLen,
  binExtrasLen,
  binStatus,
} from "../protocol/binary";
import { keyValid } from "../protocol/keys";
import { writeAscii } from "../io/out-ring";
import { natEntry, natUsed, NAT_NONE, N_BACKEND, N_HASH, N_STAMP, N_TIME, N_MIGRATE } from "./nat";
import { NK_MIG_READ, NK_MIG_COPY, NK_MIG_DELETE } from "./nat";
import {
  buildBegin,
  sendBuilt,
  ownChild,
  newChild,
  roomForOwn,
  keyBackend,
  askValue,
  ownSetBytes,
  writeOwnSetTail,
  NO_BACKEND,
} from "./forward";
import { work, W_VA } from "./context";
import {
  R_MIGRATE,
  MG_KEYS,
  MG_KEY_BYTES,
  MG_KEY_OWNER,
  MG_KEY_FORM,
  MG_REQ_LEN,
  MG_REQ,
  MG_REQ_MAX,
  MF_TEXT,
  MF_MG,
  MF_BINARY,
  MG_UNTIL,
  MG_PENDING_LEN,
  MG_PENDING_BYTES,
  C_NAT_ENTRIES,
  MAX_BACKENDS,
  PE_BEGIN,
  PE_END,
  PE_COPY_BEGIN,
  PE_COPY_END,
  S_MIGRATE_FALLBACKS,
  S_MIGRATE_RETRIES,
  S_MIGRATE_READS,
  S_MIGRATE_COPIES,
  S_MIGRATE_NOT_COPIED,
  S_MIGRATE_OLD_DELETES,
  S_DROP_OUT_FULL,
} from "../abi/abi";

@inline function keySlot(index: u32): usize {
  return regionOffset(R_MIGRATE) + MG_KEYS + <usize>index * MG_KEY_BYTES;
}

// The key's old owner while a window is open, when it is not `now`: else NO_OWNER.
export function movedFrom(key: usize, keyLen: usize, now: u32): u32 {
  if (!migrating() || now >= <u32>MAX_BACKENDS) return NO_OWNER;
  return oldOwner(ringHash(key, keyLen), now);
}

// The mover's keys asked for per tick (a tick is 10 ms): up to 3,200 a second. Thousands at once
// (an mg to the old owner, then an ms to the new one, each) overflow a backend's UDP buffers, and
// the clients' requests dropped with them time out: bench:migrate saw "SERVER_ERROR backend timed
// out" for 4 to 9 requests with no cap, none with this one.
const MOVER_PER_TICK: u32 = 32;

// A moved key's get asks again at most this many times when writes of the key overlap it.
const TRIES: u16 = 16;
// On N_MIGRATE, beside the tries left: the get is at the key's old owner.
const AT_OLD: u16 = 0x100;

// A client's read of a moved key, child `index` to the new owner, written in `form` (MF_*) as
// [req, req + reqLen): its miss goes on to `old`. A request too long to keep does not fall back.
export function fallbackOnMiss(index: u32, old: u32, form: u32, req: usize, reqLen: usize): void {
  if (reqLen > <usize>MG_REQ_MAX) return;
  const slot = keySlot(index);
  store<u8>(slot + MG_KEY_OWNER, <u8>old);
  store<u8>(slot + MG_KEY_FORM, <u8>form);
  store<u16>(slot + MG_REQ_LEN, <u16>reqLen);
  memory.copy(slot + MG_REQ, req, reqLen);
  store<u16>(natEntry(index) + N_MIGRATE, TRIES);
}

// A binary get of a moved key, [req, req + reqLen), sent (and kept) with opcode `loud`.
export function fallbackOnBinaryMiss(index: u32, old: u32, req: usize, reqLen: usize, loud: u8): void {
  fallbackOnMiss(index, old, MF_BINARY, req, reqLen);
  if (reqLen <= <usize>MG_REQ_MAX) store<u8>(keySlot(index) + MG_REQ + BH_OPCODE, loud);
}

// A text get (gets, gat, gats) of one moved key, kept as "<word>[ <exptime>] <key>" whatever
// spacing the client used: [cmd, cmd + word) is its command word, [exp, exp + expLen) its exptime
// (none: 0 bytes).
export function fallbackOnGetMiss(
  index: u32,
  old: u32,
  cmd: usize,
  word: usize,
  exp: usize,
  expLen: usize,
  key: usize,
  keyLen: usize,
): void {
  const slot = keySlot(index);
  const reqLen = writeTextGet(slot + MG_REQ, cmd, word, exp, expLen, key, keyLen) - (slot + MG_REQ);
  fallbackOnMiss(index, old, MF_TEXT, slot + MG_REQ, reqLen);
}

// The key of the request kept in slot, as [start, start + length) packed in a u64 (length high).
function slotKey(slot: usize): u64 {
  const req = slot + MG_REQ;
  const lineEnd = req + <usize>load<u16>(slot + MG_REQ_LEN) - 2; // each text form ends in \r\n
  const form = load<u8>(slot + MG_KEY_FORM);
  if (form == MF_BINARY) return pack(req + BIN_HEADER + binExtrasLen(req), binKeyLen(req));
  if (form == MF_MG) {
    const at = skipSpaces(req + 2, lineEnd);
    return pack(at, tokenEnd(at, lineEnd) - at);
  }
  let at = lineEnd; // get, gets, gat, gats: the last token
  while (at > req && load<u8>(at - 1) != 0x20) at--;
  return pack(at, lineEnd - at);
}

@inline function pack(at: usize, len: usize): u64 {
  return ((<u64>len) << 32) | (<u64>at);
}

// Whether [p, end), the whole reply to child `index`, is a miss in its request's form.
function isMiss(index: u32, p: usize, end: usize): bool {
  const form = load<u8>(keySlot(index) + MG_KEY_FORM);
  if (form == MF_BINARY)
    return end - p >= BIN_HEADER && load<u8>(p) == BIN_RESPONSE && binStatus(p) == BS_KEY_NOT_FOUND;
  if (form == MF_MG) return startsWith(p, end, "EN\r\n") || startsWith(p, end, "EN ");
  return end - p == 5 && startsWith(p, end, "END\r\n");
}

// Backend `b` answered child `index`, a read of a moved key, with [p, end) in one message: true
// when that was a miss and the read went on (fallBack), so the reply is not the client's.
export function missFallsBack(index: u32, b: u32, p: usize, end: usize): bool {
  return load<u16>(natEntry(index) + N_MIGRATE) != 0 && isMiss(index, p, end) && fallBack(index, b);
}

// A moved key of a client's get (gets, gat, gats) that names other keys too: it goes to its new
// owner `b` alone, so that its miss can go on to `old` like a get of one key. [cmd, cmd + word)
// is the command word, [exp, exp + expLen) the exptime; `order` is the key's place in a reply put
// in order (reply-order.ts), or ORDER_NONE.
export function askMoved(
  kind: u8,
  b: u32,
  old: u32,
  h: u64,
  stamp: u64,
  order: u32,
  cmd: usize,
  word: usize,
  exp: usize,
  expLen: usize,
  key: usize,
  keyLen: usize,
): void {
  const payload = buildBegin(word + 1 + expLen + 1 + keyLen + 2);
  if (payload == 0) {
    statInc(S_DROP_OUT_FULL);
    return;
  }
  const index = newChild(kind, b, 0, stamp, h, order);
  if (index == NAT_NONE) return;
  const len = writeTextGet(payload, cmd, word, exp, expLen, key, keyLen) - payload;
  fallbackOnMiss(index, old, MF_TEXT, payload, len);
  sendBuilt(index, b, payload, len);
}

// "<word>[ <exptime>] <key>\r\n" at `at`; returns its end.
function writeTextGet(at: usize, cmd: usize, word: usize, exp: usize, expLen: usize, key: usize, keyLen: usize): usize {
  let q = at;
  memory.copy(q, cmd, word);
  q += word;
  if (expLen > 0) {
    store<u8>(q++, 0x20);
    memory.copy(q, exp, expLen);
    q += expLen;
  }
  store<u8>(q++, 0x20);
  memory.copy(q, key, keyLen);
  return writeAscii(q + keyLen, "\r\n");
}

// Backend `b` answered child `index`, a read of a moved key, with a miss. Returns true when the
// read went on, under the same entry; false leaves the miss to be answered.
//
// A miss is the answer only when no write of the key overlapped the get: a set in flight may not
// have reached the new owner yet, and a write's delete at the old owner may have gone before the
// get. With no write since the get came in, the new owner's miss sends the get on to the old
// owner, and the old owner's miss is the answer. Otherwise the get asks the new owner again, as a
// get begun now, until the writes are done (at most TRIES times).
function fallBack(index: u32, b: u32): bool {
  const e = natEntry(index);
  const state = load<u16>(e + N_MIGRATE);
  store<u16>(e + N_MIGRATE, 0);
  const h = load<u64>(e + N_HASH);
  const stamp = load<u64>(e + N_STAMP);
  if (!migrating()) return false;
  const slot = keySlot(index);
  const old = <u32>load<u8>(slot + MG_KEY_OWNER);
  const quiet = barrierMoveAllows(h, stamp);
  if (quiet && (state & AT_OLD) != 0) return false;
  const tries = state & 0xff;
  if (!quiet && tries <= 1) return false;
  const k = slotKey(slot);
  const key = <usize>(k & 0xffffffff);
  const keyLen = <usize>(k >> 32);
  const to = quiet ? old : keyBackend(key, keyLen);
  if (to >= <u32>MAX_BACKENDS) return false;
  if (!ask(index, b, to)) return false;
  if (quiet) {
    store<u16>(e + N_MIGRATE, AT_OLD | tries);
    statInc(S_MIGRATE_FALLBACKS);
    copyFrom(old, h, stamp, key, keyLen);
  } else {
    store<u16>(e + N_MIGRATE, tries - 1);
    store<u64>(e + N_STAMP, readStamp());
    statInc(S_MIGRATE_RETRIES);
  }
  return true;
}

// Sends child `index`'s read again, to backend `to`, its last answer having come from `from`.
function ask(index: u32, from: u32, to: u32): bool {
  const e = natEntry(index);
  const slot = keySlot(index);
  const reqLen = <usize>load<u16>(slot + MG_REQ_LEN);
  const payload = buildBegin(reqLen);
  if (payload == 0) return false;
  backendDone(from, false);
  store<u8>(e + N_BACKEND, <u8>to);
  store<u64>(e + N_TIME, clock());
  memory.copy(payload, slot + MG_REQ, reqLen);
  sendBuilt(index, to, payload, reqLen);
  return true;
}

// kvlb's ask of the old owner for the value and TTL of the key, to copy it to its new owner.
// Returns whether one was sent.
export function copyFrom(old: u32, h: u64, stamp: u64, key: usize, keyLen: usize): bool {
  if (!roomForOwn() || !askValue(NK_MIG_READ, old, h, key, keyLen, stamp)) return false;
  statInc(S_MIGRATE_READS);
  return true;
}

// The old owner answered kvlb's mg (child c): the value goes to the key's owner now as an add,
// unless a write of the key began since the read's stamp.
export function migrateReadAnswered(c: usize, p: usize, end: usize, single: bool): void {
  const va = work() + W_VA;
  if (!single || !readVa(p, end, va)) return; // a miss, or a value larger than one datagram
  const h = load<u64>(c + N_HASH);
  const key = <usize>load<u32>(va + VA_KEY);
  const keyLen = <usize>load<u32>(va + VA_KEY_END) - key;
  const flags = <usize>load<u32>(va + VA_FLAGS);
  let ttl = load<i64>(va + VA_TTL);
  if (key == 0 || flags == 0 || !keyValid(key, keyLen) || keyHash(key, keyLen) != h) return;
  // -1: no expiry (T0); one about to expire is not worth a copy
  if (ttl == -1) ttl = 0;
  else if (ttl < 2) return;
  // another key's copy may be in flight in the same bucket: copies are counted there, not exclusive
  if (!migrating() || !barrierMoveAllows(h, load<u64>(c + N_STAMP)) || !roomForOwn()) return;
  // the other workers hear of the copy as of a write: room for its begin and its end, or no copy
  if (!peerRoomForWrite(natUsed())) return;
  const b = keyBackend(key, keyLen);
  if (b >= <u32>MAX_BACKENDS || b == <u32>load<u8>(c + N_BACKEND)) return;
  const flagsLen = <usize>load<u32>(va + VA_FLAGS_END) - flags;
  const size = <usize>load<u32>(va + VA_SIZE);
  const payload = buildBegin(keyLen + ownSetBytes(flagsLen, size));
  if (payload == 0) return;
  const index = ownChild(NK_MIG_COPY, b, 0, load<u64>(c + N_STAMP), h);
  if (index == NAT_NONE) return;
  const at = writeAscii(payload, "ms ");
  memory.copy(at, key, keyLen);
  const data = <usize>load<u32>(va + VA_DATA);
  const last = writeOwnSetTail(at + keyLen, size, <u32>ttl, flags, flagsLen, data, true);
  barrierCopyBegin(h);
  peerEmit(h, PE_COPY_BEGIN);
  sendBuilt(index, b, payload, last - payload);
}

// The new owner answered kvlb's add of a copy (child c), or it went unanswered (`lost`).
export function migrateCopyAnswered(c: usize, p: usize, end: usize, lost: bool): void {
  const h = load<u64>(c + N_HASH);
  barrierCopyEnd(h);
  peerEmit(h, PE_COPY_END);
  statInc(!lost && startsWith(p, end, "HD") ? S_MIGRATE_COPIES : S_MIGRATE_NOT_COPIED);
}

// Before a client's write of a key (hash h) goes to its owner b: the key's old owner, or
// NO_OWNER. `busy` is set when the write is a delete that must wait for a copy in flight.
export function writeMoved(h: u64, key: usize, keyLen: usize, b: u32, isDelete: bool): u32 {
  const old = movedFrom(key, keyLen, b);
  if (old == NO_OWNER) return NO_OWNER;
  return isDelete && barrierCopying(h) ? MOVED_BUSY : old;
}
export const MOVED_BUSY: u32 = 0xfffffffe;

// A client's write of a moved key went to its new owner: kvlb deletes it at the old one.
export function deleteAtOld(old: u32, h: u64, key: usize, keyLen: usize): void {
  const payload = buildBegin(3 + keyLen + 2);
  if (payload == 0) {
    barrierMoveHold(h, load<u64>(regionOffset(R_MIGRATE) + MG_UNTIL));
    return;
  }
  const index = ownChild(NK_MIG_DELETE, old, 0, 0, h);
  if (index == NAT_NONE) {
    barrierMoveHold(h, load<u64>(regionOffset(R_MIGRATE) + MG_UNTIL));
    return;
  }
  store<u64>(natEntry(index) + N_STAMP, barrierBegin(h));
  peerEmit(h, PE_BEGIN);
  let at = writeAscii(payload, "md ");
  memory.copy(at, key, keyLen);
  at = writeAscii(at + keyLen, "\r\n");
  statInc(S_MIGRATE_OLD_DELETES);
  sendBuilt(index, old, payload, at - payload);
}

// The old owner answered kvlb's md (child c), or did not (`lost`): until the window closes, a get
// of the key's bucket does not fall back to a value that may still be there.
export function migrateDeleteAnswered(c: usize, p: usize, end: usize, lost: bool): void {
  const h = load<u64>(c + N_HASH);
  barrierEnd(h);
  peerEmit(h, PE_END);
  if (lost || !(startsWith(p, end, "HD") || startsWith(p, end, "NF"))) {
    barrierMoveHold(h, max(load<u64>(regionOffset(R_MIGRATE) + MG_UNTIL), clock() + 10 * requestTimeout()));
  }
}

// The host's mover hands keys over between bursts, as (u8 length, key) records at `at`; they wait
// for the next tick, whose output is sent. Returns the bytes taken (whole records, as room allows).
export function moverTake(at: usize, bytes: usize): usize {
  const c = regionOffset(R_MIGRATE);
  const pending = pendingAt();
  const used = <usize>load<u32>(c + MG_PENDING_LEN);
  let took: usize = 0;
  while (took < bytes) {
    const len: usize = <usize>1 + <usize>load<u8>(at + took);
    if (took + len > bytes || used + took + len > <usize>MG_PENDING_BYTES) break;
    took += len;
  }
  memory.copy(pending + used, at, took);
  store<u32>(c + MG_PENDING_LEN, <u32>(used + took));
  return took;
}

@inline function pendingAt(): usize {
  return regionOffset(R_MIGRATE) + MG_KEYS + <usize>cfgU32(C_NAT_ENTRIES) * MG_KEY_BYTES;
}

// At a tick: asks old owners for copies of the mover's waiting keys, as many as kvlb's own room
// allows; the rest wait for the next tick. Nothing is asked once the window has closed.
export function moverTick(): void {
  const c = regionOffset(R_MIGRATE);
  const used = <usize>load<u32>(c + MG_PENDING_LEN);
  if (used == 0) return;
  if (!migrating()) {
    store<u32>(c + MG_PENDING_LEN, 0);
    return;
  }
  const pending = pendingAt();
  let p = pending;
  const end = pending + used;
  // a few per tick, so that the copies never crowd clients' requests out of a burst's output
  for (let asked: u32 = 0; p < end && asked < MOVER_PER_TICK && roomForOwn();) {
    const len = <usize>load<u8>(p);
    const key = p + 1;
    if (len == 0 || !keyValid(key, len)) {
      p = key + len;
      continue;
    }
    const b = keyBackend(key, len);
    const old = b == NO_BACKEND || b >= <u32>MAX_BACKENDS ? NO_OWNER : movedFrom(key, len, b);
    const h = keyHash(key, len);
    if (old != NO_OWNER && !copyFrom(old, h, readStamp(), key, len)) break;
    if (old != NO_OWNER) asked++;
    p = key + len;
  }
  const left = end - p;
  if (left > 0) memory.copy(pending, p, left);
  store<u32>(c + MG_PENDING_LEN, <u32>left);
}
