// Binary-protocol datagrams. Each request in a datagram is checked on its own (its declared
// lengths against what the datagram holds), then routed by its own key and put through the
// write barrier like its text twin. Quiet opcodes go out loud, so every request closes its
// entry, and kvlb swallows what the quiet form hides. A noop answers after every request
// before it. Whole-server opcodes (flush, stat, verbosity, quit, SASL, ...) are refused.
import { statInc } from "../layout/header";
import { writeBegin, writeEnd } from "../cache/proxy-writes";
import { readStamp } from "../cache/barrier";
import { activeBackends, firstUp } from "../route/backends";
import {
  BIN_HEADER,
  BIN_REQUEST,
  BH_OPCODE,
  BH_OPAQUE,
  BS_INVALID_ARGUMENTS,
  binRequestLen,
  binShapeOk,
  binaryClass,
  loudOpcode,
  binKeyLen,
  binExtrasLen,
  be32,
  BC_REFUSED,
  BC_READ,
  BC_NOOP,
  BC_VERSION,
  BC_QUIT,
  OP_QUIT,
  BS_OK,
} from "../protocol/binary";
import { keyLengthOk, ownKey } from "../protocol/keys";
import {
  work,
  workFlag,
  workSplit,
  workClose,
  workClosing,
  W_BIN,
  W_OPAQUE,
  W_OPCODE,
  W_TAIL_OPAQUE,
  W_STAGED,
} from "./context";
import {
  newChild,
  sendInPlace,
  buildBegin,
  sendBuilt,
  answerBinary,
  countKey,
  backendFor,
  badDataChunk,
  refuseCommand,
  serverError,
  NO_BACKEND,
} from "./forward";
import { writeRoom, NAT_NONE, NK_OTHER, NK_META_WRITE, NF_QUIET, NF_MG, GF_NOOP } from "./nat";
import { FAIL_NO_BACKENDS, FAIL_DOWN, FAIL_OVERLOAD, FAIL_MIGRATING } from "./failures";
import { writeMoved, deleteAtOld, movedFrom, fallbackOnBinaryMiss, MOVED_BUSY } from "./migrate";
import { NO_OWNER } from "../route/old-ring";
import { S_CLIENT_ERRORS, S_DROP_FRAME, S_DROP_OUT_FULL, S_NO_BACKEND } from "../abi/abi";

export function handleBinary(p: usize, end: usize): void {
  const w = work();
  store<u32>(w + W_BIN, 1);
  const first = p;
  while (p < end) {
    const n = binRequestLen(p, end);
    if (n == 0) {
      // lengths that do not match the datagram: answered when there is a header to answer,
      // and nothing after it is trusted
      if (end - p >= BIN_HEADER && load<u8>(p) == BIN_REQUEST) {
        store<u32>(w + W_OPCODE, <u32>load<u8>(p + BH_OPCODE));
        store<u32>(w + W_OPAQUE, be32(p + BH_OPAQUE));
        badDataChunk();
      } else {
        statInc(S_DROP_FRAME);
      }
      return;
    }
    request(p, p + n, p == first && p + n == end);
    if (workClosing()) return; // a quit: nothing after it is read
    p += n;
  }
}

// One whole request [p, reqEnd); `alone` says it is the datagram's only one.
function request(p: usize, reqEnd: usize, alone: bool): void {
  const w = work();
  const op = load<u8>(p + BH_OPCODE);
  store<u32>(w + W_OPCODE, <u32>op);
  store<u32>(w + W_OPAQUE, be32(p + BH_OPAQUE));
  const cls = binaryClass(op);
  if (cls == BC_REFUSED) {
    refuseCommand();
    return;
  }
  if (cls == BC_QUIT) {
    // memcached answers a quit (not a quitq), then closes the connection
    if (op == OP_QUIT) answerBinary(BS_OK, "");
    workClose();
    return;
  }
  if (!binShapeOk(p)) {
    statInc(S_CLIENT_ERRORS);
    answerBinary(BS_INVALID_ARGUMENTS, "Invalid arguments");
    return;
  }
  if (cls == BC_NOOP) {
    store<u32>(w + W_TAIL_OPAQUE, load<u32>(w + W_OPAQUE));
    workFlag(<u32>GF_NOOP);
    workSplit();
    return;
  }
  if (cls == BC_VERSION) {
    const b = firstUp();
    if (b == 0xffffffff) {
      if (activeBackends() == 0) statInc(S_NO_BACKEND);
      serverError(activeBackends() == 0 ? FAIL_NO_BACKENDS : FAIL_DOWN);
      return;
    }
    forward(p, reqEnd, alone, b, op, NK_OTHER, 0, 0);
    return;
  }
  const keyLen = binKeyLen(p);
  if (!keyLengthOk(keyLen) || ownKey(p + BIN_HEADER + binExtrasLen(p), keyLen)) {
    statInc(S_CLIENT_ERRORS);
    answerBinary(BS_INVALID_ARGUMENTS, "Invalid key length");
    return;
  }
  const key = p + BIN_HEADER + binExtrasLen(p);
  const h = countKey(key, keyLen);
  const b = backendFor(key, keyLen);
  if (b == NO_BACKEND) return;
  const loud = loudOpcode(op);
  let flags: u8 = loud != op ? NF_QUIET : 0;
  if (cls == BC_READ) {
    if (loud != op) flags |= NF_MG;
    // a key that moved in a live migration: its miss goes on to the key's old owner
    const old = movedFrom(key, keyLen, b);
    const id = forward(p, reqEnd, alone, b, loud, NK_OTHER, flags, 0, old != NO_OWNER ? h : 0);
    if (id != NAT_NONE && old != NO_OWNER) fallbackOnBinaryMiss(id, old, p, reqEnd - p, loud);
    return;
  }
  if (!writeRoom()) {
    serverError(FAIL_OVERLOAD);
    return;
  }
  const old = writeMoved(h, key, keyLen, b, loud == 0x04); // 0x04: delete, deleteq made loud
  if (old == MOVED_BUSY) {
    serverError(FAIL_MIGRATING);
    return;
  }
  const v = writeBegin(h, key, keyLen, 0, 0, w + W_STAGED);
  if (old != NO_OWNER) deleteAtOld(old, h, key, keyLen);
  if (forward(p, reqEnd, alone, b, loud, NK_META_WRITE, flags, v, h) == NAT_NONE) writeEnd(h, v, false, false);
}

// Sends the request to backend b under a new child; its index, or NAT_NONE when none could be
// opened.
function forward(p: usize, reqEnd: usize, alone: bool, b: u32, loud: u8, kind: u8, flags: u8, v: u64, h: u64 = 0): u32 {
  const id = newChild(kind, b, flags, kind == NK_OTHER ? readStamp() : v, h);
  if (id == NAT_NONE) return NAT_NONE;
  if (alone && loud == load<u8>(p + BH_OPCODE)) {
    sendInPlace(id, b);
    return id;
  }
  const len = reqEnd - p;
  const payload = buildBegin(len);
  if (payload == 0) {
    statInc(S_DROP_OUT_FULL);
    return id; // the child stays open until it times out, which answers the client
  }
  memory.copy(payload, p, len);
  store<u8>(payload + BH_OPCODE, loud);
  sendBuilt(id, b, payload, len);
  return id;
}
