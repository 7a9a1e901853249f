// The ASCII writes: set, add, replace, append, prepend, cas, delete, incr, decr, touch. Each is
// counted by the detector, opens a write on the barrier (a set stages its value in a cache that
// holds the key), and goes to the key's backend. A "noreply" is stripped before forwarding, so
// the backend's answer still closes the write, and kvlb swallows it.
import { statInc } from "../layout/header";
import { writeBegin, writeEnd, isCached } from "../cache/proxy-writes";
import { FAIL_OVERLOAD, FAIL_MIGRATING } from "./failures";
import { writeMoved, deleteAtOld, MOVED_BUSY } from "./migrate";
import { NO_OWNER } from "../route/old-ring";
import { skipSpaces, tokenEnd, parseDecimal, isWord, fits, u64DecimalValid, startsWith } from "../protocol/text";
import { DATA_LENGTH_MAX } from "../protocol/stream-frame";
import { keyValid } from "../protocol/keys";
import { valueBlock, valueBlockLen } from "../io/out-ring";
import { work, W_STAGED, W_TOKENS } from "./context";
import {
  newChild,
  sendInPlace,
  buildBegin,
  sendBuilt,
  answer,
  countKey,
  backendFor,
  badDataChunk,
  serverError,
  NO_BACKEND,
} from "./forward";
import { writeRoom, NAT_NONE, NK_WRITE, NF_NOREPLY, NF_STAGED } from "./nat";
import { exptimeValid } from "./get";
import { fanOutSet } from "./replica-fill";
import { expiryOfExptime, NOT_CACHEABLE } from "../cache/expiry";
import { S_CLIENT_ERRORS, S_UNKNOWN_COMMANDS, S_DROP_OUT_FULL } from "../abi/abi";

const MAX_TOKENS: u32 = 8;

// Splits [p, lineEnd) into token spans; returns how many (MAX_TOKENS + 1 when too many).
function tokenize(p: usize, lineEnd: usize): u32 {
  const spans = work() + W_TOKENS;
  let n: u32 = 0;
  let q = skipSpaces(p, lineEnd);
  while (q < lineEnd) {
    if (n == MAX_TOKENS) return n + 1;
    const te = tokenEnd(q, lineEnd);
    store<u32>(spans + ((<usize>n) << 3), <u32>q);
    store<u32>(spans + ((<usize>n) << 3) + 4, <u32>te);
    n++;
    q = skipSpaces(te, lineEnd);
  }
  return n;
}

@inline function tokStart(i: u32): usize {
  return <usize>load<u32>(work() + W_TOKENS + ((<usize>i) << 3));
}
@inline function tokEnd(i: u32): usize {
  return <usize>load<u32>(work() + W_TOKENS + ((<usize>i) << 3) + 4);
}

// A storage command; returns where the next command starts, or 0 when the datagram must stop.
export function handleStore(
  cmd: usize,
  cmdEnd: usize,
  lineEnd: usize,
  newline: usize,
  end: usize,
  isCas: bool,
  isSet: bool,
  first: bool,
): usize {
  const n = tokenize(cmdEnd, lineEnd);
  const expected: u32 = isCas ? 5 : 4;
  // as memcached: one word more is allowed, and it means noreply only when it says so
  const noreply = n == expected + 1 && isWord(tokStart(n - 1), tokEnd(n - 1), "noreply");
  if (n != expected && n != expected + 1) {
    // memcached reads no data block after such a line: what follows is the next command
    statInc(S_UNKNOWN_COMMANDS);
    answer("ERROR\r\n");
    return newline + 1;
  }
  const bytes = parseDecimal(tokStart(3), tokEnd(3));
  if (
    bytes < 0 ||
    bytes > DATA_LENGTH_MAX ||
    parseDecimal(tokStart(1), tokEnd(1)) < 0 ||
    !exptimeValid(tokStart(2), tokEnd(2))
  ) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR bad command line format\r\n");
    return 0;
  }
  // The declared length is checked against what is left before anything is added to it: a
  // length near 2^32 must not wrap back into the datagram.
  const data = newline + 1;
  if (!fits(data, <u64>bytes + 2, end) || load<u16>(data + <usize>bytes) != 0x0a0d) {
    badDataChunk();
    return 0;
  }
  const dataEnd = data + <usize>bytes;
  const next = dataEnd + 2;
  const key = tokStart(0);
  const keyLen = tokEnd(0) - key;
  if (!keyValid(key, keyLen)) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR bad command line format\r\n");
    return next;
  }
  const h = countKey(key, keyLen);
  // A set's value is staged only where a cache holds the key, and only when its expiry can be
  // placed: it is copied on no other write.
  let block: usize = 0;
  let blockLen: usize = 0;
  const expiry = isSet ? expiryOfExptime(tokStart(2), tokEnd(2)) : NOT_CACHEABLE;
  if (expiry != NOT_CACHEABLE && isCached(h, key, keyLen)) {
    const flagsLen = tokEnd(1) - tokStart(1);
    const countLen = tokEnd(3) - tokStart(3);
    block = valueBlock(key, keyLen, tokStart(1), flagsLen, tokStart(3), countLen, data, <usize>bytes);
    blockLen = block == 0 ? 0 : valueBlockLen(keyLen, flagsLen, countLen, <usize>bytes);
  }
  const lineKeep = noreply ? tokEnd(n - 2) : lineEnd;
  const v = forwardWrite(
    cmd,
    lineKeep,
    h,
    key,
    keyLen,
    block,
    blockLen,
    data,
    <usize>bytes + 2,
    noreply,
    first && next == end,
    expiry,
  );
  if (isSet && v != 0) fanOutSet(h, v, tokStart(1), tokEnd(1), tokStart(2), tokEnd(2), data, <usize>bytes);
  return next;
}

// delete <key> [0] [noreply], incr|decr <key> <value> [noreply], touch <key> <exptime> [noreply].
export function handleKeyed(
  cmd: usize,
  cmdEnd: usize,
  lineEnd: usize,
  next: usize,
  end: usize,
  args: u32,
  first: bool,
): void {
  const n = tokenize(cmdEnd, lineEnd);
  const noreply = n >= 2 && isWord(tokStart(n - 1), tokEnd(n - 1), "noreply");
  const given = n - (noreply ? 1 : 0);
  const isDelete = args == 0;
  const countOk = isDelete ? given == 1 || (given == 2 && isWord(tokStart(1), tokEnd(1), "0")) : given == 1 + args;
  if (n == 0 || !countOk) {
    statInc(S_UNKNOWN_COMMANDS);
    answer(
      isDelete && given > 1 ? "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n" : "ERROR\r\n",
    );
    return;
  }
  const key = tokStart(0);
  const keyLen = tokEnd(0) - key;
  if (!keyValid(key, keyLen)) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR bad command line format\r\n");
    return;
  }
  // an incr/decr delta is 64 bits wide, a touch's exptime signed; memcached judges the rest
  if (!isDelete && !u64DecimalValid(tokStart(1), tokEnd(1)) && !exptimeValid(tokStart(1), tokEnd(1))) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR invalid numeric delta argument\r\n");
    return;
  }
  const lineKeep = noreply ? tokEnd(n - 2) : lineEnd;
  forwardWrite(cmd, lineKeep, countKey(key, keyLen), key, keyLen, 0, 0, 0, 0, noreply, first && next == end);
}

// Opens the write and sends [cmd, lineKeep) + "\r\n" + the data (when dataLen > 0). Returns the
// write's version, or 0 when it was not sent.
function forwardWrite(
  cmd: usize,
  lineKeep: usize,
  h: u64,
  key: usize,
  keyLen: usize,
  block: usize,
  blockLen: usize,
  data: usize,
  dataLen: usize,
  noreply: bool,
  inPlace: bool,
  expiry: u64 = NOT_CACHEABLE,
): u64 {
  const b = backendFor(key, keyLen);
  if (b == NO_BACKEND) return 0;
  if (!writeRoom()) {
    serverError(FAIL_OVERLOAD);
    return 0;
  }
  const old = writeMoved(h, key, keyLen, b, startsWith(cmd, lineKeep, "delete"));
  if (old == MOVED_BUSY) {
    serverError(FAIL_MIGRATING);
    return 0;
  }
  const v = writeBegin(h, key, keyLen, block, blockLen, work() + W_STAGED, expiry);
  if (old != NO_OWNER) deleteAtOld(old, h, key, keyLen);
  const staged = load<u8>(work() + W_STAGED) != 0;
  let flags: u8 = staged ? NF_STAGED : 0;
  if (noreply) flags |= NF_NOREPLY;
  const id = newChild(NK_WRITE, b, flags, v, h);
  if (id == NAT_NONE) {
    writeEnd(h, v, false, staged);
    return 0;
  }
  if (inPlace && !noreply) {
    sendInPlace(id, b);
    return v;
  }
  const lineLen = lineKeep - cmd;
  const payload = buildBegin(lineLen + 2 + dataLen);
  if (payload == 0) {
    statInc(S_DROP_OUT_FULL);
    return 0; // the write stays open until its entry times out, which ends it as failed
  }
  memory.copy(payload, cmd, lineLen);
  store<u16>(payload + lineLen, 0x0a0d);
  if (dataLen > 0) memory.copy(payload + lineLen + 2, data, dataLen);
  sendBuilt(id, b, payload, lineLen + 2 + dataLen);
  return v;
}
