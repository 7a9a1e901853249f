// The traffic of hot-key replica sets (cache/replicas.ts): kvlb's own reads of a key's value from
// its server (mg <key> v f t) and writes of the copies (ms <copy> <size> T<ttl> F<flags>), a
// client's get sent to a copy, and a copy's miss sent on to the key's own server.
import { clock, statInc, requestTimeout } from "../layout/header";
import { readStamp, barrierAllows } from "../cache/barrier";
import { expiryAfter, NOT_CACHEABLE } from "../cache/expiry";
import { backendUp } from "../route/backends";
import {
  replicaFind,
  replicaFillDue,
  replicaKey,
  replicaKeyLen,
  replicaCount,
  replicaServer,
  replicaMissed,
  copyName,
  fillBegan,
  fillEnded,
  fillRefused,
  replicaHash,
  copiesSent,
  copyAnswered,
  fanAllowed,
  fanBegan,
  fanHomeDone,
  fanCopyDone,
  NO_SET,
  COPY_PREFIX,
} from "../cache/replicas";
import { readVa, VA_FLAGS, VA_FLAGS_END, VA_TTL, VA_SIZE, VA_DATA } from "../protocol/meta-value";
import { startsWith, parseDecimal } from "../protocol/text";
import { ownKey } from "../protocol/keys";
import { writeAscii, forwardReply, replyText } from "../io/out-ring";
import { FRAME_HEADER } from "../protocol/udp-frame";
import { NAT_NONE, N_BACKEND, N_STAMP, N_HASH, N_TIME, N_SEEN } from "./nat";
import { NK_GET, NK_COPY_READ, NK_COPY_WRITE, NF_COPY, NF_FANOUT, N_FLAGS } from "./nat";
import {
  newChild,
  buildBegin,
  sendBuilt,
  ownChild,
  roomForOwn,
  sendGetFor,
  ownSetBytes,
  writeOwnSetTail,
} from "./forward";
import { failLine, FAIL_OVERLOAD } from "./failures";
import { work, W_VA } from "./context";
import { S_REPLICA_COPIES, S_REPLICA_READS, S_REPLICA_FALLBACKS, S_REPLICA_FILLS, S_REPLICA_FANOUTS } from "../abi/abi";

// A copy lives at most this long on its server, so that the copies of a key that cooled go away
// on their own; kvlb writes it again before then while the key stays hot.
const COPY_TTL_MAX: i64 = 300;

// Begins the set's fill when one is due: kvlb's mg to the key's own server `own`.
export function replicaFill(e: usize, own: u32): void {
  if (!replicaFillDue(e, 4 * requestTimeout()) || !roomForOwn()) return;
  const len = replicaKeyLen(e);
  const payload = buildBegin(len + 12);
  if (payload == 0) return;
  const index = ownChild(NK_COPY_READ, own, 0, readStamp(), replicaHash(e));
  if (index == NAT_NONE) return;
  let at = writeAscii(payload, "mg ");
  memory.copy(at, replicaKey(e), len);
  at = writeAscii(at + len, " v f t\r\n");
  fillBegan(e);
  statInc(S_REPLICA_FILLS);
  sendBuilt(index, own, payload, at - payload);
}

// The key's own server answered the fill's mg (child c): the value goes to every other server
// of the set that is up, unless a write touched the key since the mg left.
export function copyReadAnswered(c: usize, p: usize, end: usize, single: bool): void {
  const h = load<u64>(c + N_HASH);
  const e = replicaFind(h);
  if (e == NO_SET) return;
  const stamp = load<u64>(c + N_STAMP);
  const va = work() + W_VA;
  if (!single || !readVa(p, end, va)) {
    // a miss, or a value too large for one datagram: the key is read from its own server alone
    // for a while
    fillRefused(e, 4 * requestTimeout());
    return;
  }
  let ttl = load<i64>(va + VA_TTL);
  if (ttl == -1 || ttl > COPY_TTL_MAX) ttl = COPY_TTL_MAX;
  const until = expiryAfter(load<u64>(c + N_TIME), ttl);
  const flags = <usize>load<u32>(va + VA_FLAGS);
  if (until == NOT_CACHEABLE || flags == 0 || !barrierAllows(h, stamp)) {
    fillEnded(e);
    return;
  }
  const flagsLen = <usize>load<u32>(va + VA_FLAGS_END) - flags;
  const size = <usize>load<u32>(va + VA_SIZE);
  const data = <usize>load<u32>(va + VA_DATA);
  const count = replicaCount(e);
  let sent: u32 = 0;
  for (let i: u32 = 1; i < count; i++) {
    const b = replicaServer(e, i);
    if (!backendUp(b) || !roomForOwn()) continue;
    if (sendCopy(e, b, 0, stamp, h, ttl, flags, flagsLen, data, size) == NAT_NONE) break;
    sent++;
  }
  if (sent == 0) fillEnded(e);
  else copiesSent(e, sent, until);
}

// The fill's mg went unanswered: the next get may begin another.
export function copyReadLost(c: usize): void {
  const e = replicaFind(load<u64>(c + N_HASH));
  if (e != NO_SET) fillEnded(e);
}

// A replica server answered kvlb's ms of a copy (child c), or did not in time (`lost`).
export function copyWriteAnswered(c: usize, p: usize, end: usize, lost: bool): void {
  const e = replicaFind(load<u64>(c + N_HASH));
  if (e == NO_SET) return;
  const stored = !lost && startsWith(p, end, "HD");
  const b = <u32>load<u8>(c + N_BACKEND);
  if ((load<u8>(c + N_FLAGS) & NF_FANOUT) != 0) fanCopyDone(e, load<u64>(c + N_STAMP), b, stored, lost);
  else copyAnswered(e, b, stored, lost, load<u64>(c + N_STAMP));
}

// A client's "set <key> <flags> <exptime> <bytes>", version v, just went to the key's own server:
// when the key has a replica set, its value goes to the copies too, so that they stay current
// across the write instead of waiting for a fill. [flags, flagsEnd) and [exp, expEnd) are the
// set's tokens, [data, data + bytes) its value. The client hears the key's own server alone.
export function fanOutSet(
  h: u64,
  v: u64,
  flags: usize,
  flagsEnd: usize,
  exp: usize,
  expEnd: usize,
  data: usize,
  bytes: usize,
): void {
  const e = replicaFind(h);
  // with its own server down the set went to the failover server: the copies must follow the key's
  // own server when it is back, so the write retires them instead
  if (e == NO_SET || !fanAllowed(e) || !backendUp(replicaServer(e, 0))) return;
  const ttl = copyTtl(exp, expEnd);
  if (ttl < 0) return;
  const until = expiryAfter(clock(), ttl);
  if (until == NOT_CACHEABLE) return;
  const flagsLen = flagsEnd - flags;
  const count = replicaCount(e);
  let sent: u32 = 0;
  for (let i: u32 = 1; i < count; i++) {
    const b = replicaServer(e, i);
    if (!backendUp(b) || !roomForOwn()) continue;
    const index = sendCopy(e, b, NF_FANOUT, v, h, ttl, flags, flagsLen, data, bytes);
    if (index == NAT_NONE) break;
    sent++;
  }
  if (sent == 0) return;
  fanBegan(e, v, sent, until);
  statInc(S_REPLICA_FANOUTS);
}

// A set's exptime as a copy's TTL: at most COPY_TTL_MAX; -1 when the copies cannot follow it
// (already expired, or a Unix time kvlb's clock cannot place).
function copyTtl(p: usize, end: usize): i64 {
  if (startsWith(p, end, "-") || end - p > 10) return -1;
  const v = parseDecimal(p, end);
  if (v < 0 || v > 60 * 60 * 24 * 30) return -1;
  return v == 0 || v > COPY_TTL_MAX ? COPY_TTL_MAX : v;
}

// Builds and sends "ms <copy> <size> T<ttl> F<flags>\r\n<data>\r\n" to server b as a child of kind
// NK_COPY_WRITE; returns its NAT index, or NAT_NONE.
function sendCopy(
  e: usize,
  b: u32,
  flags: u8,
  stamp: u64,
  h: u64,
  ttl: i64,
  clientFlags: usize,
  clientFlagsLen: usize,
  data: usize,
  size: usize,
): u32 {
  const payload = buildBegin(replicaKeyLen(e) + COPY_PREFIX + ownSetBytes(clientFlagsLen, size));
  if (payload == 0) return NAT_NONE;
  const index = ownChild(NK_COPY_WRITE, b, flags, stamp, h);
  if (index == NAT_NONE) return NAT_NONE;
  let at = writeAscii(payload, "ms ");
  at += copyName(e, at);
  const end = writeOwnSetTail(at, size, <u32>ttl, clientFlags, clientFlagsLen, data, false);
  statInc(S_REPLICA_COPIES);
  sendBuilt(index, b, payload, end - payload);
  return index;
}

// The key's own server answered a write of version v (`kept`: it stored it, alone), or the
// write timed out: a fan-out of it may now make its copies current.
export function replicaWriteDone(h: u64, v: u64, kept: bool): void {
  const e = replicaFind(h);
  if (e != NO_SET) fanHomeDone(e, v, kept);
}

// A client's get of one key, alone in its datagram, sent to server b's copy.
export function sendCopyGet(e: usize, b: u32, stamp: u64, h: u64): void {
  const payload = buildBegin(4 + replicaKeyLen(e) + COPY_PREFIX + 2);
  if (payload == 0) return;
  const id = newChild(NK_GET, b, NF_COPY, stamp, h);
  if (id == NAT_NONE) return;
  let at = writeAscii(payload, "get ");
  at += copyName(e, at);
  at = writeAscii(at, "\r\n");
  statInc(S_REPLICA_READS);
  sendBuilt(id, b, payload, at - payload);
}

// A copy's answer to a client's get, in the datagram at slot (child c, client addr:port:id). A
// value is passed on with the copy's name cut back to the key (the header moves two bytes
// forward, no copy of the value), and the END after it. Anything else, a miss above all, is no
// answer of the key's own server, so the get goes on to it. Returns true when the child is done.
export function copyGetAnswered(
  c: usize,
  b: u32,
  slot: usize,
  len: usize,
  single: bool,
  addr: u32,
  port: u32,
  id: u32,
): bool {
  const h = load<u64>(c + N_HASH);
  const p = slot + FRAME_HEADER;
  const end = slot + len;
  if (single && load<u16>(c + N_SEEN) != 0 && end - p == 5 && startsWith(p, end, "END\r\n")) {
    forwardReply(slot, len, addr, port, id);
    return true;
  }
  if (single && startsWith(p, end, "VALUE ") && end - p > 6 + COPY_PREFIX && ownKey(p + 6, COPY_PREFIX)) {
    memory.copy(slot + COPY_PREFIX, slot, FRAME_HEADER + 6);
    forwardReply(slot + COPY_PREFIX, len - COPY_PREFIX, addr, port, id);
    if (end - p >= 5 && startsWith(end - 5, end, "END\r\n")) return true;
    store<u16>(c + N_SEEN, 1); // memcached sends the END in a message of its own
    return false;
  }
  statInc(S_REPLICA_FALLBACKS);
  const e = replicaFind(h);
  if (e == NO_SET) {
    replyText(failLine(FAIL_OVERLOAD), addr, port, id);
    return true;
  }
  replicaMissed(e, b);
  sendGetFor(replicaServer(e, 0), h, load<u64>(c + N_STAMP), replicaKey(e), replicaKeyLen(e), addr, port, id);
  return true;
}
