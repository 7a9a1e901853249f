// Opening a NAT entry for a request that goes to a backend, and queueing it: in place when the
// client's datagram can go as it is, or as a datagram built in the tx buffer.
import { statInc, cfgU32, requestTimeout } from "../layout/header";
import { S_FORWARDED, S_KEYS, S_NO_BACKEND, S_CLIENT_ERRORS, S_REFUSED_COMMANDS, OUT_BACKEND } from "../abi/abi";
import { keyHash } from "../util/hash";
import { detObserve } from "../detect/detector";
import { detector } from "../layout/regions";
import { routeUp, ROUTE_DOWN } from "../route/ketama";
import {
  natTake,
  natEntry,
  natWireId,
  natUsed,
  NAT_NONE,
  NS_CHILD,
  N_KIND,
  N_BACKEND,
  N_FLAGS,
  N_STAMP,
  N_HASH,
  N_CLIENT_ADDR,
  N_CLIENT_PORT,
  N_OPAQUE,
  N_OPCODE,
  N_ORDER,
  NK_GET,
  NK_GETS,
  NK_FILL,
  NF_BINARY,
  GF_ERRORED,
} from "./nat";
import { barrierFillStart } from "../cache/barrier";
import {
  workU32,
  workFlag,
  workChild,
  workFull,
  W_ADDR,
  W_PORT,
  W_ID,
  W_SLOT,
  W_LEN,
  W_BIN,
  W_OPAQUE,
  W_OPCODE,
  workIsSilent,
  workReplyId,
} from "./context";
import { backendAddr, backendPort, backendSent } from "../route/backends";
import { outPush, datagramAlloc, replyText, replyBinary, writeAscii } from "../io/out-ring";
import { writeDecimal } from "../protocol/text";
import { BS_TEMPORARY_FAILURE, BS_NOT_SUPPORTED, BS_INVALID_ARGUMENTS } from "../protocol/binary";
import { S_SERVER_ERRORS, S_FILL_REQUESTS, C_NAT_ENTRIES, C_FAILOVER } from "../abi/abi";
import { failLine, failMessage, FAIL_NO_BACKENDS, FAIL_TOO_MANY, FAIL_OVERLOAD, FAIL_DOWN } from "./failures";
import { frameWrite, setFrameId, setFrameReserved, FRAME_HEADER } from "../protocol/udp-frame";

export const NO_BACKEND: u32 = 0xffffffff;

// Hashes a requested key and counts it in the detector; returns the hash.
export function countKey(key: usize, keyLen: usize): u64 {
  const h = keyHash(key, keyLen);
  detObserve(detector(), h, 1);
  statInc(S_KEYS);
  return h;
}

// The backend a key goes to now: its own, or with failover the next one up on the ring;
// BACKEND_DOWN when its own is down and there is none to go to; NO_BACKEND with no backends.
export function keyBackend(key: usize, keyLen: usize): u32 {
  return routeUp(key, keyLen, cfgU32(C_FAILOVER) != 0);
}

// The key's backend, or NO_BACKEND after answering the client why it cannot be forwarded.
export function backendFor(key: usize, keyLen: usize): u32 {
  const b = keyBackend(key, keyLen);
  if (b == NO_BACKEND) {
    statInc(S_NO_BACKEND);
    serverError(FAIL_NO_BACKENDS);
    return NO_BACKEND;
  }
  if (b == ROUTE_DOWN) {
    serverError(FAIL_DOWN);
    return NO_BACKEND;
  }
  if (workFull()) {
    serverError(FAIL_TOO_MANY);
    return NO_BACKEND;
  }
  return b;
}

// Returns the child's NAT index, or NAT_NONE after answering the client that kvlb is
// overloaded (the table is full): never a silent drop that a client would read as a miss.
// `order`: a get child's place in its connection's reply (reply-order.ts).
export function newChild(kind: u8, b: u32, flags: u8, stamp: u64, h: u64, order: u32 = 0): u32 {
  const index = natTake(NS_CHILD, workU32(W_ADDR), workU32(W_PORT), workU32(W_ID));
  if (index == NAT_NONE) {
    serverError(FAIL_OVERLOAD);
    // the get's END would tell the client its keys missed: the error ends the get instead
    if (kind == NK_GET || kind == NK_GETS) workFlag(<u32>GF_ERRORED);
    return NAT_NONE;
  }
  const e = natEntry(index);
  store<u8>(e + N_KIND, kind);
  store<u8>(e + N_BACKEND, <u8>b);
  store<u8>(e + N_FLAGS, workU32(W_BIN) != 0 ? flags | NF_BINARY : flags);
  store<u64>(e + N_STAMP, stamp);
  store<u64>(e + N_HASH, h);
  store<u32>(e + N_OPAQUE, workU32(W_OPAQUE));
  store<u8>(e + N_OPCODE, <u8>workU32(W_OPCODE));
  store<u16>(e + N_ORDER, <u16>order);
  workChild(index, kind == NK_GET || kind == NK_GETS);
  return index;
}

// kvlb's own asks never take the room clients' requests need: only while the table is half free.
@inline export function roomForOwn(): bool {
  return natUsed() < cfgU32(C_NAT_ENTRIES) >> 1;
}

// A NAT entry for a request of kvlb's own, which reaches no client; its index, or NAT_NONE.
export function ownChild(kind: u8, b: u32, flags: u8, stamp: u64, h: u64): u32 {
  return detachedChild(kind, b, flags, stamp, h, 0, 0, 0);
}

// A NAT entry outside the datagram being served (no work area, no group): kvlb's own ask, or a
// request it sends on for a client (addr:port, request id) after another answered; its index, or
// NAT_NONE.
export function detachedChild(kind: u8, b: u32, flags: u8, stamp: u64, h: u64, addr: u32, port: u32, id: u32): u32 {
  const index = natTake(NS_CHILD, addr, port, id);
  if (index == NAT_NONE) return NAT_NONE;
  const e = natEntry(index);
  store<u8>(e + N_KIND, kind);
  store<u8>(e + N_BACKEND, <u8>b);
  store<u8>(e + N_FLAGS, flags);
  store<u64>(e + N_STAMP, stamp);
  store<u64>(e + N_HASH, h);
  return index;
}

// A plain get of key sent to backend b for client addr:port (request id), outside the datagram
// being served: a copy's miss sent on, a parked get woken. False after answering the client
// that kvlb is overloaded.
export function sendGetFor(b: u32, h: u64, stamp: u64, key: usize, keyLen: usize, addr: u32, port: u32, id: u32): bool {
  const payload = buildBegin(4 + keyLen + 2);
  const index = payload == 0 ? NAT_NONE : detachedChild(NK_GET, b, 0, stamp, h, addr, port, id);
  if (index == NAT_NONE) {
    statInc(S_SERVER_ERRORS);
    replyText(failLine(FAIL_OVERLOAD), addr, port, id);
    return false;
  }
  let at = writeAscii(payload, "get ");
  memory.copy(at, key, keyLen);
  at = writeAscii(at + keyLen, "\r\n");
  sendBuilt(index, b, payload, at - payload);
  return true;
}

// Asks the key's backend for its value and remaining TTL (mg <key> v f t k), for the caches: the
// client's own get goes on as it is, and this reply fills. At most one ask per barrier bucket is
// in flight. Returns whether this call sent one.
export function requestFill(b: u32, h: u64, key: usize, keyLen: usize, stamp: u64): bool {
  if (!roomForOwn()) return false;
  if (!barrierFillStart(h, requestTimeout())) return false;
  if (!askValue(NK_FILL, b, h, key, keyLen, stamp)) return false;
  statInc(S_FILL_REQUESTS);
  return true;
}

// kvlb's own "mg <key> v f t k" to backend b, as a child of `kind`: the value, its client flags
// and its remaining TTL, with the key to check the answer by. Returns whether it was sent.
export function askValue(kind: u8, b: u32, h: u64, key: usize, keyLen: usize, stamp: u64): bool {
  const payload = buildBegin(keyLen + 14);
  if (payload == 0) return false;
  const index = ownChild(kind, b, 0, stamp, h);
  if (index == NAT_NONE) return false;
  let at = writeAscii(payload, "mg ");
  memory.copy(at, key, keyLen);
  at = writeAscii(at + keyLen, " v f t k\r\n");
  sendBuilt(index, b, payload, at - payload);
  return true;
}

// The bytes an ms of kvlb's own takes beyond its key: "ms ", the size, T, F and the value.
export function ownSetBytes(flagsLen: usize, size: usize): usize {
  return 3 + 1 + 10 + 2 + 20 + 2 + flagsLen + 5 + size + 2;
}

// The rest of kvlb's own "ms <key>" after its key, at `at`: " <size> T<ttl> F<flags>[ ME]\r\n",
// then the value. `add`: ME, so that the value a client set meanwhile stays. Returns its end.
export function writeOwnSetTail(
  at: usize,
  size: usize,
  ttl: u32,
  flags: usize,
  flagsLen: usize,
  data: usize,
  add: bool,
): usize {
  let q = writeAscii(at, " ");
  q = writeDecimal(q, <u32>size);
  q = writeAscii(q, " T");
  q = writeDecimal(q, ttl);
  q = writeAscii(q, " F");
  memory.copy(q, flags, flagsLen);
  q = writeAscii(q + flagsLen, add ? " ME\r\n" : "\r\n");
  memory.copy(q, data, size);
  return writeAscii(q + size, "\r\n");
}

// The client's own datagram, with the child's id in its header.
export function sendInPlace(index: u32, b: u32): void {
  const slot = <usize>workU32(W_SLOT);
  setFrameId(slot, natWireId(index));
  setFrameReserved(slot, connectionHint(index));
  if (outPush(slot, <usize>workU32(W_LEN), backendAddr(b), backendPort(b), OUT_BACKEND)) {
    backendSent(b);
    statInc(S_FORWARDED);
  }
}

// Which of a backend's TCP connections a request takes (the host reads it from the frame
// header). A client's requests all take the same one, so the backend sees them in the order the
// client sent them, as it would over the client's own connection: a pipelined get after a set
// reads what the set wrote. kvlb's own requests (fills, copies) spread by their key.
function connectionHint(index: u32): u32 {
  const e = natEntry(index);
  const addr = load<u32>(e + N_CLIENT_ADDR);
  if (addr != 0) return ((addr ^ ((<u32>load<u16>(e + N_CLIENT_PORT)) << 16)) * 0x9e3779b1) >> 16;
  const h = load<u64>(e + N_HASH);
  return h != 0 ? <u32>h : natWireId(index);
}

// A request datagram to build: returns where its payload goes (after the frame header), or 0.
export function buildBegin(payloadBytes: usize): usize {
  const buf = datagramAlloc(payloadBytes + FRAME_HEADER);
  return buf == 0 ? 0 : buf + FRAME_HEADER;
}

// Queues a built request to backend b under entry `index`'s id; false when the out ring is full.
export function queueBuilt(index: u32, b: u32, payload: usize, payloadLen: usize): bool {
  const buf = payload - FRAME_HEADER;
  frameWrite(buf, natWireId(index), 0, 1);
  setFrameReserved(buf, connectionHint(index));
  return outPush(buf, payloadLen + FRAME_HEADER, backendAddr(b), backendPort(b), OUT_BACKEND);
}

// queueBuilt, counted as a request in the backend's load.
export function sendBuilt(index: u32, b: u32, payload: usize, payloadLen: usize): void {
  if (queueBuilt(index, b, payload, payloadLen)) {
    backendSent(b);
    statInc(S_FORWARDED);
  }
}

// A local answer to the datagram's client, unless its command said noreply.
export function answer(text: string): void {
  if (workIsSilent()) return;
  replyText(text, workU32(W_ADDR), workU32(W_PORT), workReplyId());
}

// A local binary answer to the request being handled.
export function answerBinary(status: u16, text: string): void {
  replyBinary(<u8>workU32(W_OPCODE), status, workU32(W_OPAQUE), text, workU32(W_ADDR), workU32(W_PORT), workReplyId());
}

// A server error for the request being handled, in its protocol.
export function serverError(why: u32): void {
  statInc(S_SERVER_ERRORS);
  if (workU32(W_BIN) != 0) answerBinary(BS_TEMPORARY_FAILURE, failMessage(why));
  else answer(failLine(why));
}

// A whole-server command refused, in the request's protocol.
export function refuseCommand(): void {
  statInc(S_REFUSED_COMMANDS);
  if (workU32(W_BIN) != 0) answerBinary(BS_NOT_SUPPORTED, "Not supported through kvlb");
  else answer("SERVER_ERROR not supported through kvlb: ask a backend, or kvlb's admin API\r\n");
}

// A request whose declared lengths do not match what it carries: never forwarded.
export function badDataChunk(): void {
  statInc(S_CLIENT_ERRORS);
  if (workU32(W_BIN) != 0) answerBinary(BS_INVALID_ARGUMENTS, "Invalid arguments");
  else answer("CLIENT_ERROR bad data chunk\r\n");
}
