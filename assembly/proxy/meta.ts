// Meta commands (mg, ms, md, mn, me) and the binary protocol, routed by their key. ms, md and
// binary writes open a write on the barrier. A meta "q" flag is stripped before forwarding, so
// every request gets an answer that closes its entry, and kvlb swallows what q would hide.
import { statInc } from "../layout/header";
import { writeBegin, writeEnd } from "../cache/proxy-writes";
import { readStamp } from "../cache/barrier";
import { ketamaRoute } from "../route/ketama";
import { skipSpaces, tokenEnd, parseDecimal, isWord } from "../protocol/text";
import { work, workFlag, W_STAGED } from "./context";
import { newChild, sendInPlace, buildBegin, sendBuilt, answer, countKey, backendFor, NO_BACKEND } from "./forward";
import { NAT_NONE, NK_OTHER, NK_META_WRITE, NF_QUIET, NF_MG, GF_MN } from "./nat";
import { be16 } from "./frame";
import { S_CLIENT_ERRORS, S_NO_BACKEND, S_DROP_OUT_FULL, S_DROP_FRAME } from "../shared/abi";


export function handleMn(): void {
  workFlag(<u32>GF_MN);
}

// mg|ms|md|me <key> [datalen] <flags>*; returns the next command's start, or 0 to stop.
export function handleMeta(cmd: usize, cmdEnd: usize, lineEnd: usize, newline: usize, end: usize,
  op: u8, first: bool): usize {
  const key = skipSpaces(cmdEnd, lineEnd);
  const keyEnd = tokenEnd(key, lineEnd);
  const keyLen = keyEnd - key;
  if (keyLen == 0 || keyLen > 250) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR bad command line format\r\n");
    return newline + 1;
  }
  let flagsFrom = keyEnd;
  let next = newline + 1;
  let dataLen: usize = 0;
  if (op == 0x73) {
    // ms <key> <datalen> <flags>*\r\n<data>\r\n
    const lenAt = skipSpaces(keyEnd, lineEnd);
    const lenEnd = tokenEnd(lenAt, lineEnd);
    const n = parseDecimal(lenAt, lenEnd);
    if (n < 0 || newline + 1 + <usize>n + 2 > end || load<u16>(newline + 1 + <usize>n) != 0x0a0d) {
      statInc(S_CLIENT_ERRORS);
      answer("CLIENT_ERROR bad data chunk\r\n");
      return 0;
    }
    dataLen = <usize>n + 2;
    next = newline + 1 + dataLen;
    flagsFrom = lenEnd;
  }
  // find a bare "q" flag
  let qAt: usize = 0;
  for (let p = skipSpaces(flagsFrom, lineEnd); p < lineEnd; ) {
    const te = tokenEnd(p, lineEnd);
    if (isWord(p, te, "q")) qAt = p;
    p = skipSpaces(te, lineEnd);
  }
  const h = countKey(key, keyLen);
  const b = backendFor(key, keyLen);
  if (b == NO_BACKEND) return next;
  const isWrite = op == 0x73 || op == 0x64; // ms, md
  let flags: u8 = qAt != 0 ? NF_QUIET : 0;
  if (op == 0x67) flags |= NF_MG;
  const v = isWrite ? writeBegin(h, key, keyLen, 0, 0, work() + W_STAGED) : readStamp();
  const id = newChild(isWrite ? NK_META_WRITE : NK_OTHER, b, flags, v, h);
  if (id == NAT_NONE) {
    if (isWrite) writeEnd(h, v, false, false);
    return next;
  }
  if (first && next == end && qAt == 0) {
    sendInPlace(id, b);
    return next;
  }
  // the command without its q flag, then its data
  const cut = qAt != 0 ? qAt - 1 : lineEnd; // qAt - 1: the space before "q"
  const tail = qAt != 0 ? lineEnd - (qAt + 1) : 0;
  const lineLen = cut - cmd + tail;
  const payload = buildBegin(lineLen + 2 + dataLen);
  if (payload == 0) {
    statInc(S_DROP_OUT_FULL);
    return next;
  }
  memory.copy(payload, cmd, cut - cmd);
  if (tail > 0) memory.copy(payload + (cut - cmd), qAt + 1, tail);
  store<u16>(payload + lineLen, 0x0a0d);
  if (dataLen > 0) memory.copy(payload + lineLen + 2, newline + 1, dataLen);
  sendBuilt(id, b, payload, lineLen + 2 + dataLen);
  return next;
}

// A binary-protocol datagram: routed by the first request's key and forwarded whole.
export function handleBinary(p: usize, end: usize): void {
  if (end - p < 24) {
    statInc(S_DROP_FRAME);
    return;
  }
  const opcode = load<u8>(p + 1);
  const keyLen = <usize>be16(p + 2);
  const extLen = <usize>load<u8>(p + 4);
  const key = p + 24 + extLen;
  if (key + keyLen > end) {
    statInc(S_DROP_FRAME);
    return;
  }
  let b: u32 = 0;
  let h: u64 = 0;
  if (keyLen > 0) {
    h = countKey(key, keyLen);
    b = ketamaRoute(key, keyLen);
  }
  if (b == NO_BACKEND) {
    statInc(S_NO_BACKEND);
    return; // a binary client gets no text answer: it times out, as on a lost datagram
  }
  // get, getq, getk, getkq, noop, version and stat read; every other opcode may write
  const isRead = opcode == 0x00 || opcode == 0x09 || opcode == 0x0c || opcode == 0x0d || opcode == 0x0a ||
    opcode == 0x0b || opcode == 0x10 || keyLen == 0;
  const v = isRead ? readStamp() : writeBegin(h, key, keyLen, 0, 0, work() + W_STAGED);
  const id = newChild(isRead ? NK_OTHER : NK_META_WRITE, b, 0, v, h);
  if (id != NAT_NONE) sendInPlace(id, b);
  else if (!isRead) writeEnd(h, v, false, false);
}
