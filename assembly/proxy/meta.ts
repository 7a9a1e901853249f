// Meta commands (mg, ms, md, ma, me, mn), routed by their key. ms, md and ma open a write on the
// barrier. A "q" flag is stripped before forwarding, so every request gets an answer that
// closes its entry, and kvlb swallows what q would hide. A key sent in base64 (the "b" flag) is
// decoded first: kvlb hashes, routes and caches the key the backend will store.
import { statInc } from "../layout/header";
import { writeBegin, writeEnd } from "../cache/proxy-writes";
import { FAIL_OVERLOAD, FAIL_MIGRATING } from "./failures";
import { writeMoved, deleteAtOld, movedFrom, fallbackOnMiss, MOVED_BUSY } from "./migrate";
import { NO_OWNER } from "../route/old-ring";
import { readStamp } from "../cache/barrier";
import { skipSpaces, tokenEnd, parseDecimal, isWord, fits } from "../protocol/text";
import { base64Key, ownKey } from "../protocol/keys";
import { CMD_MG, CMD_MS, CMD_MD, CMD_MA } from "../protocol/commands";
import { work, workFlag, W_STAGED, W_KEYBUF } from "./context";
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
import { writeRoom, NAT_NONE, NK_OTHER, NK_META_WRITE, NF_QUIET, NF_MG, GF_MN } from "./nat";
import { S_CLIENT_ERRORS, S_DROP_OUT_FULL, MF_MG } from "../abi/abi";

export function handleMn(): void {
  workFlag(<u32>GF_MN);
}

// mg|ms|md|ma|me <key> [datalen] <flags>*; returns the next command's start, or 0 to stop.
export function handleMeta(
  cmd: usize,
  cmdEnd: usize,
  lineEnd: usize,
  newline: usize,
  end: usize,
  code: u32,
  first: bool,
): usize {
  const wireKey = skipSpaces(cmdEnd, lineEnd);
  const wireKeyEnd = tokenEnd(wireKey, lineEnd);
  if (wireKeyEnd == wireKey || wireKeyEnd - wireKey > 250) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR bad command line format\r\n");
    return newline + 1;
  }
  let flagsFrom = wireKeyEnd;
  let next = newline + 1;
  let dataLen: usize = 0;
  if (code == CMD_MS) {
    // ms <key> <datalen> <flags>*\r\n<data>\r\n
    const lenAt = skipSpaces(wireKeyEnd, lineEnd);
    const lenEnd = tokenEnd(lenAt, lineEnd);
    const n = parseDecimal(lenAt, lenEnd);
    if (n < 0 || !fits(next, <u64>n + 2, end) || load<u16>(next + <usize>n) != 0x0a0d) {
      badDataChunk();
      return 0;
    }
    dataLen = <usize>n + 2;
    next += dataLen;
    flagsFrom = lenEnd;
  }
  // the flags that matter to a proxy: a bare "q", and "b"
  let qAt: usize = 0;
  let base64 = false;
  for (let p = skipSpaces(flagsFrom, lineEnd); p < lineEnd;) {
    const te = tokenEnd(p, lineEnd);
    if (isWord(p, te, "q")) qAt = p;
    else if (isWord(p, te, "b")) base64 = true;
    p = skipSpaces(te, lineEnd);
  }
  let key = wireKey;
  let keyLen = wireKeyEnd - wireKey;
  if (base64) {
    key = work() + W_KEYBUF;
    const n = base64Key(wireKey, keyLen, key);
    if (n < 0) {
      statInc(S_CLIENT_ERRORS);
      answer("CLIENT_ERROR error decoding key\r\n");
      return next;
    }
    keyLen = <usize>n;
  }
  if (ownKey(key, keyLen)) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR bad command line format\r\n");
    return next;
  }
  const h = countKey(key, keyLen);
  const b = backendFor(key, keyLen);
  if (b == NO_BACKEND) return next;
  const isWrite = code == CMD_MS || code == CMD_MD || code == CMD_MA;
  if (isWrite && !writeRoom()) {
    serverError(FAIL_OVERLOAD);
    return next;
  }
  let flags: u8 = qAt != 0 ? NF_QUIET : 0;
  if (code == CMD_MG) flags |= NF_MG;
  const old = isWrite ? writeMoved(h, key, keyLen, b, code == CMD_MD) : NO_OWNER;
  if (old == MOVED_BUSY) {
    serverError(FAIL_MIGRATING);
    return next;
  }
  const v = isWrite ? writeBegin(h, key, keyLen, 0, 0, work() + W_STAGED) : readStamp();
  if (old != NO_OWNER) deleteAtOld(old, h, key, keyLen);
  const id = newChild(isWrite ? NK_META_WRITE : NK_OTHER, b, flags, v, h);
  if (id == NAT_NONE) {
    if (isWrite) writeEnd(h, v, false, false);
    return next;
  }
  // an mg of a key that moved in a live migration: its miss goes on to the key's old owner, as
  // kvlb wrote the request (a key in base64 is not looked for there)
  const movedRead = code == CMD_MG && !base64 ? movedFrom(key, keyLen, b) : NO_OWNER;
  if (first && next == end && qAt == 0 && movedRead == NO_OWNER) {
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
  if (movedRead != NO_OWNER) fallbackOnMiss(id, movedRead, MF_MG, payload, lineLen + 2);
  sendBuilt(id, b, payload, lineLen + 2 + dataLen);
  return next;
}
