// The work area for one client datagram: its peer, the children it forwarded, and what the
// client must still be sent once all of them are done. It sits after the NAT entries.
import { regionOffset, cfgU32, statInc } from "../layout/header";
import { R_NAT, C_NAT_ENTRIES, S_SERVER_ERRORS } from "../abi/abi";
import { failLine, failMessage } from "./failures";
import {
  natBytes,
  natEntry,
  natTake,
  natFree,
  NAT_NONE,
  NS_GROUP,
  N_GROUP,
  N_GETS,
  N_ALL,
  N_GFLAGS,
  N_CLIENT_ADDR,
  N_CLIENT_PORT,
  N_CLIENT_ID,
  N_KIND,
  N_OPAQUE,
  N_FLAGS,
  N_OPCODE,
  N_ORDER,
  NK_GET,
  NK_GETS,
  NF_BINARY,
  GF_END,
  GF_MN,
  GF_NOOP,
  GF_ERRORED,
  GF_FLUSH,
} from "./nat";
import { replyText, replyBinary } from "../io/out-ring";
import { orderedId, ORDER_NONE, ORDER_ERROR, ORDER_END } from "./reply-order";
import { BS_OK, BS_TEMPORARY_FAILURE, OP_NOOP } from "../protocol/binary";

export const WORK_BYTES: usize = 8192;
export const MAX_CHILDREN: u32 = 256;
export const MAX_GET_KEYS: u32 = 512;

const W_COUNT: usize = 0;
export const W_FLAGS: usize = 4;
const W_GETS: usize = 8;
export const W_ADDR: usize = 12;
export const W_PORT: usize = 16;
export const W_ID: usize = 20;
export const W_SLOT: usize = 24;
export const W_LEN: usize = 28;
export const W_SINGLE: usize = 32; // u32, 1 when the datagram holds one command: forward in place
export const W_STAGED: usize = 36; // u8, writeBegin's answer
// u8, 1 while a text command that ends in "noreply" is handled: memcached sends no reply to it at
// all, errors included, so neither does kvlb (a client that asked for none would read it as the
// reply to its next request)
export const W_SILENT: usize = 37;
// u8, 1 once a request asked to close its connection (quit, or an HTTP request line): memcached
// closes it, and over TCP so does kvlb, once the replies before it are written
export const W_CLOSE: usize = 38;
// u8, SERVE_* bits the caller of serveClient gave for this datagram
export const W_SERVE: usize = 39;
export const SERVE_ADMIN: u8 = 1; // from a TCP connection of admin.clients: its flush_all counts
export const SERVE_NO_END: u8 = 2; // a part of a get split by kvlb: the END is the last part's
const W_CHILDREN: usize = 64;
export const W_MISSES: usize = 64 + 4 * 256; // MAX_GET_KEYS of (key u32, length u16, backend u16)
export const W_TOKENS: usize = W_MISSES + 8 * 512; // up to 8 token spans (start u32, end u32)
export const W_LOOKUP: usize = 40; // lookup()'s reply, at a descriptor's D_OFF and D_LEN
export const W_BIN: usize = 48; // u32, 1 while a binary request is handled: local answers are binary
export const W_OPAQUE: usize = 52; // u32, that request's opaque
export const W_OPCODE: usize = 56; // u32, that request's opcode
export const W_TAIL_OPAQUE: usize = 60; // u32, the opaque of the noop that ends the group
export const W_KEYBUF: usize = W_TOKENS + 64; // MAX_KEY bytes: a meta "b" key, decoded
export const W_VA: usize = W_KEYBUF + 256; // VA_BYTES: a VA answer's parts (protocol/meta-value.ts)
export const W_RUNS: usize = W_VA + 64; // MAX_GET_KEYS of u16: each miss's place in the reply (reply-order.ts)
// u32, the place of the request's local answers in its reply: ORDER_ERROR while a get whose
// pieces are put in order is handled, else ORDER_NONE
const W_ORDER: usize = W_RUNS + 2 * 512;

@inline export function work(): usize {
  return regionOffset(R_NAT) + natBytes(cfgU32(C_NAT_ENTRIES));
}

@inline export function workU32(field: usize): u32 {
  return load<u32>(work() + field);
}

export function workBegin(slot: usize, len: usize, addr: u32, port: u32, id: u32): void {
  const w = work();
  store<u32>(w + W_COUNT, 0);
  store<u32>(w + W_FLAGS, 0);
  store<u32>(w + W_GETS, 0);
  store<u32>(w + W_ADDR, addr);
  store<u32>(w + W_PORT, port);
  store<u32>(w + W_ID, id);
  store<u32>(w + W_SLOT, <u32>slot);
  store<u32>(w + W_LEN, <u32>len);
  store<u32>(w + W_SINGLE, 0);
  store<u32>(w + W_BIN, 0);
  store<u8>(w + W_SILENT, 0);
  store<u8>(w + W_CLOSE, 0);
  store<u8>(w + W_SERVE, 0);
  store<u32>(w + W_ORDER, ORDER_NONE);
}

// The request's pieces are put in order (a multi-key get from a connection): its local answers
// are errors, which come after every value.
@inline export function workOrdered(): void {
  store<u32>(work() + W_ORDER, ORDER_ERROR);
}

// The id the request's local answers carry, with their place in its reply.
@inline export function workReplyId(): u32 {
  return orderedId(workU32(W_ID), workU32(W_ORDER));
}

@inline export function workServe(opts: u8): void {
  store<u8>(work() + W_SERVE, opts);
}

@inline export function workServing(opt: u8): bool {
  return (load<u8>(work() + W_SERVE) & opt) != 0;
}

@inline export function workSilent(silent: bool): void {
  store<u8>(work() + W_SILENT, silent ? 1 : 0);
}

@inline export function workIsSilent(): bool {
  return load<u8>(work() + W_SILENT) != 0;
}

@inline export function workClose(): void {
  store<u8>(work() + W_CLOSE, 1);
}

@inline export function workClosing(): bool {
  return load<u8>(work() + W_CLOSE) != 0;
}

@inline export function workFlag(flag: u32): void {
  const w = work();
  store<u32>(w + W_FLAGS, load<u32>(w + W_FLAGS) | flag);
}

@inline export function workFull(): bool {
  return workU32(W_COUNT) >= MAX_CHILDREN;
}

export function workChild(id: u32, isGet: bool): void {
  const w = work();
  const n = load<u32>(w + W_COUNT);
  store<u32>(w + W_CHILDREN + ((<usize>n) << 2), id);
  store<u32>(w + W_COUNT, n + 1);
  if (isGet) store<u32>(w + W_GETS, load<u32>(w + W_GETS) + 1);
}

// After the datagram's last command: answer what needs no backend now, and tie several
// children to a group that will send the single END and MN.
export function workFinish(): void {
  const w = work();
  const n = load<u32>(w + W_COUNT);
  const gets = load<u32>(w + W_GETS);
  let flags = load<u32>(w + W_FLAGS);
  const addr = load<u32>(w + W_ADDR);
  const port = load<u32>(w + W_PORT);
  const id = load<u32>(w + W_ID);
  if ((flags & GF_END) != 0 && gets == 0 && (flags & GF_ERRORED) == 0) {
    replyText("END\r\n", addr, port, workU32(W_ORDER) != ORDER_NONE ? orderedId(id, ORDER_END) : id);
    flags &= ~(<u32>GF_END);
  }
  const tail = flags & (GF_MN | GF_NOOP | GF_FLUSH);
  if (n == 0) {
    sendTail(tail, load<u32>(w + W_TAIL_OPAQUE), addr, port, id);
    return;
  }
  // a lone child answers for itself, its END included, unless that END is not its to send
  if (n == 1 && tail == 0 && !workServing(SERVE_NO_END)) return;
  const g = natTake(NS_GROUP, addr, port, id);
  if (g == NAT_NONE) {
    // each child then answers for itself, and what would have followed them goes now
    sendTail(tail, load<u32>(w + W_TAIL_OPAQUE), addr, port, id);
    return;
  }
  const e = natEntry(g);
  store<u16>(e + N_GETS, <u16>gets);
  store<u16>(e + N_ALL, <u16>n);
  store<u16>(e + N_GFLAGS, <u16>flags);
  store<u32>(e + N_OPAQUE, load<u32>(w + W_TAIL_OPAQUE));
  for (let i: u32 = 0; i < n; i++) {
    store<u32>(natEntry(load<u32>(w + W_CHILDREN + ((<usize>i) << 2))) + N_GROUP, g);
  }
}

// Closes the commands so far as one group and starts the next, as memcached answers each get
// of a datagram with its own END.
export function workSplit(): void {
  workFinish();
  const w = work();
  store<u32>(w + W_COUNT, 0);
  store<u32>(w + W_FLAGS, 0);
  store<u32>(w + W_GETS, 0);
  store<u32>(w + W_ORDER, ORDER_NONE);
}

@inline function isGetKind(kind: u8): bool {
  return kind == NK_GET || kind == NK_GETS;
}

export const DONE_PASS_END: u32 = 1; // the END ending this child's reply goes to the client
export const DONE_SEND_MN: u32 = 2; // the caller sends MN after this child's reply
export const DONE_SEND_NOOP: u32 = 4; // the caller sends the noop's reply (doneOpaque) after it
export const DONE_SEND_FLUSHED: u32 = 8; // the caller sends an admin flush_all's OK
export const DONE_FLUSH_FAILED: u32 = 16; // ... or its error: some backend did not say OK

// MN or a binary noop's reply: what a client sees once every request before it was answered.
export function sendTail(tail: u32, opaque: u32, addr: u32, port: u32, id: u32): void {
  if ((tail & GF_MN) != 0) replyText("MN\r\n", addr, port, id);
  if ((tail & GF_NOOP) != 0) replyBinary(OP_NOOP, BS_OK, opaque, "", addr, port, id);
  if ((tail & GF_FLUSH) != 0) {
    replyText(
      (tail & GF_ERRORED) != 0 ? "SERVER_ERROR flush_all did not reach every backend\r\n" : "OK\r\n",
      addr,
      port,
      id,
    );
  }
}

// What follows a child's reply once its group is done (childDone's DONE_SEND_* flags).
export function sendAfter(done: u32, addr: u32, port: u32, id: u32): void {
  let tail: u32 = 0;
  if ((done & DONE_SEND_MN) != 0) tail |= GF_MN;
  if ((done & DONE_SEND_NOOP) != 0) tail |= GF_NOOP;
  if ((done & DONE_SEND_FLUSHED) != 0) tail |= GF_FLUSH;
  if ((done & DONE_FLUSH_FAILED) != 0) tail |= GF_FLUSH | GF_ERRORED;
  if (tail != 0) sendTail(tail, doneOpaque(), addr, port, id);
}

// A backend's part of an admin flush_all did not succeed, or a get's part was answered with an
// error: the group answers an error, and a get's group sends no END.
export function groupFailed(child: usize): void {
  const g = load<u32>(child + N_GROUP);
  if (g == NAT_NONE) return;
  const e = natEntry(g);
  if (load<u8>(e) == NS_GROUP) store<u16>(e + N_GFLAGS, load<u16>(e + N_GFLAGS) | GF_ERRORED);
}

// Whether another child of this one's group already failed: a get's reply has one error, which
// ends it (a client would read a second as the reply to its next request).
export function groupErrored(child: usize): bool {
  const g = load<u32>(child + N_GROUP);
  if (g == NAT_NONE) return false;
  const e = natEntry(g);
  return load<u8>(e) == NS_GROUP && (load<u16>(e + N_GFLAGS) & GF_ERRORED) != 0;
}

// The opaque of the noop a DONE_SEND_NOOP asks for.
export function doneOpaque(): u32 {
  return load<u32>(work() + W_TAIL_OPAQUE);
}

// A child that got no reply (timed out, or its backend is down): the client learns it from a
// server error in the child's own protocol, never from a miss no backend reported.
export function childFailed(child: usize, why: u32): void {
  statInc(S_SERVER_ERRORS);
  const addr = load<u32>(child + N_CLIENT_ADDR);
  const port = <u32>load<u16>(child + N_CLIENT_PORT);
  let id = <u32>load<u16>(child + N_CLIENT_ID);
  if (load<u16>(child + N_ORDER) != 0) id = orderedId(id, ORDER_ERROR);
  if ((load<u8>(child + N_FLAGS) & NF_BINARY) != 0) {
    replyBinary(
      load<u8>(child + N_OPCODE),
      BS_TEMPORARY_FAILURE,
      load<u32>(child + N_OPAQUE),
      failMessage(why),
      addr,
      port,
      id,
    );
  } else {
    replyText(failLine(why), addr, port, id);
  }
}

// Whether the END at the tail of this get child's reply goes to the client: it is alone, or it
// is its group's last get and the group sends an END.
export function groupPassesEnd(child: usize): bool {
  const g = load<u32>(child + N_GROUP);
  if (g == NAT_NONE) return true;
  const e = natEntry(g);
  if (load<u8>(e) != NS_GROUP) return true;
  const gflags = load<u16>(e + N_GFLAGS);
  return load<u16>(e + N_GETS) == 1 && (gflags & GF_END) != 0 && (gflags & GF_ERRORED) == 0;
}

// A child is done (answered, or timed out when `timedOut`). Returns DONE_* flags. A timed-out
// get ends its part with a server error, and its group then sends no END: a client must not
// read the keys it did not get as misses.
export function childDone(child: usize, timedOut: bool): u32 {
  const isGet = isGetKind(load<u8>(child + N_KIND));
  const g = load<u32>(child + N_GROUP);
  if (g == NAT_NONE) return DONE_PASS_END;
  const e = natEntry(g);
  if (load<u8>(e) != NS_GROUP) return DONE_PASS_END;
  let gflags = load<u16>(e + N_GFLAGS);
  if (timedOut && isGet) gflags |= GF_ERRORED;
  store<u16>(e + N_GFLAGS, gflags);
  let done: u32 = 0;
  if (isGet) {
    const gets = load<u16>(e + N_GETS) - 1;
    store<u16>(e + N_GETS, gets);
    if (gets == 0 && (gflags & GF_END) != 0 && (gflags & GF_ERRORED) == 0 && !timedOut) done |= DONE_PASS_END;
  }
  const all = load<u16>(e + N_ALL) - 1;
  store<u16>(e + N_ALL, all);
  if (all == 0) {
    if ((gflags & GF_MN) != 0) done |= DONE_SEND_MN;
    if ((gflags & GF_NOOP) != 0) {
      done |= DONE_SEND_NOOP;
      store<u32>(work() + W_TAIL_OPAQUE, load<u32>(e + N_OPAQUE));
    }
    if ((gflags & GF_FLUSH) != 0) done |= (gflags & GF_ERRORED) != 0 ? DONE_FLUSH_FAILED : DONE_SEND_FLUSHED;
    natFree(g);
  }
  return done;
}
