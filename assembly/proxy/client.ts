// A datagram from a client: its frame header is checked as memcached checks it, then each
// command in it is routed, answered from a cache, or answered here.
import { statInc } from "../layout/header";
import { S_CLIENT_DATAGRAMS, S_DROP_FRAME, S_DROP_TOO_LARGE, S_UNKNOWN_COMMANDS, S_DROP_INCOMPLETE, S_FRAME_RESERVED,
  S_NO_BACKEND } from "../shared/abi";
import { FRAME_HEADER, frameId, frameTotal, frameReserved } from "./frame";
import { findNewline, contentEnd, tokenEnd, isWord, NOT_FOUND } from "../protocol/text";
import { workBegin, workFinish, workSplit } from "./context";
import { handleGet } from "./get";
import { handleStore, handleKeyed } from "./write";
import { handleMeta, handleMn, handleBinary } from "./meta";
import { newChild, sendInPlace, answer } from "./forward";
import { readStamp } from "../cache/barrier";
import { backendCount } from "../route/backends";
import { NAT_NONE, NK_GET, NK_GETS, NK_OTHER } from "./nat";

export function handleClient(slot: usize, len: usize, addr: u32, port: u32, truncated: bool): void {
  statInc(S_CLIENT_DATAGRAMS);
  if (truncated) {
    statInc(S_DROP_TOO_LARGE);
    return;
  }
  if (len < FRAME_HEADER || frameTotal(slot) != 1) {
    statInc(S_DROP_FRAME);
    return;
  }
  // memcached ignores the reserved field, and memcaslap fills it; count it, serve it.
  if (frameReserved(slot) != 0) statInc(S_FRAME_RESERVED);
  workBegin(slot, len, addr, port, frameId(slot));
  const end = slot + len;
  let p = slot + FRAME_HEADER;
  if (p < end && load<u8>(p) == 0x80) {
    handleBinary(p, end);
    workFinish();
    return;
  }
  let first = true;
  while (p < end) {
    const newline = findNewline(p, end);
    if (newline == NOT_FOUND) {
      statInc(S_DROP_INCOMPLETE);
      break;
    }
    const next = command(p, contentEnd(p, newline), newline, end, first);
    if (next == 0) break;
    p = next;
    first = false;
  }
  workFinish();
}

// One command; returns where the next starts, or 0 when the datagram must stop.
function command(p: usize, lineEnd: usize, newline: usize, end: usize, first: bool): usize {
  const cmdEnd = tokenEnd(p, lineEnd);
  const next = newline + 1;
  const alone = first && next == end;
  const n = cmdEnd - p;
  const isGet = n == 3 && isWord(p, cmdEnd, "get");
  const isGets = n == 4 && isWord(p, cmdEnd, "gets");
  const isGat = n == 3 && isWord(p, cmdEnd, "gat");
  const isGats = n == 4 && isWord(p, cmdEnd, "gats");
  if (isGet || isGets || isGat || isGats) {
    handleGet(p, cmdEnd, lineEnd, isGet ? NK_GET : NK_GETS, isGat || isGats, alone);
    if (next < end) workSplit(); // each get of a datagram has its own END
  } else if (isWord(p, cmdEnd, "set")) {
    return handleStore(p, cmdEnd, lineEnd, newline, end, false, true, first);
  } else if (isWord(p, cmdEnd, "add") || isWord(p, cmdEnd, "replace") || isWord(p, cmdEnd, "append") ||
    isWord(p, cmdEnd, "prepend")) {
    return handleStore(p, cmdEnd, lineEnd, newline, end, false, false, first);
  } else if (isWord(p, cmdEnd, "cas")) {
    return handleStore(p, cmdEnd, lineEnd, newline, end, true, false, first);
  } else if (isWord(p, cmdEnd, "delete")) {
    handleKeyed(p, cmdEnd, lineEnd, next, end, 0, first);
  } else if (isWord(p, cmdEnd, "incr") || isWord(p, cmdEnd, "decr") || isWord(p, cmdEnd, "touch")) {
    handleKeyed(p, cmdEnd, lineEnd, next, end, 1, first);
  } else if (n == 2 && load<u8>(p) == 0x6d) {
    const op = load<u8>(p + 1);
    if (op == 0x6e) handleMn(); // mn
    else if (op == 0x67 || op == 0x73 || op == 0x64 || op == 0x65) return handleMeta(p, cmdEnd, lineEnd, newline, end, op, first);
    else unknown();
  } else if (isWord(p, cmdEnd, "version")) {
    // answered by the first backend, so that a client's version check sees a real memcached
    if (backendCount() == 0) {
      statInc(S_NO_BACKEND);
      answer("SERVER_ERROR kvlb has no backends\r\n");
    } else if (alone) {
      const id = newChild(NK_OTHER, 0, 0, readStamp(), 0);
      if (id != NAT_NONE) sendInPlace(id, 0);
    } else {
      answer("SERVER_ERROR send version in a datagram of its own\r\n");
    }
  } else if (isWord(p, cmdEnd, "stats") || isWord(p, cmdEnd, "flush_all") || isWord(p, cmdEnd, "verbosity")) {
    answer("SERVER_ERROR not supported through kvlb: ask a backend, or kvlb's admin API\r\n");
  } else {
    unknown();
  }
  return next;
}

function unknown(): void {
  statInc(S_UNKNOWN_COMMANDS);
  answer("ERROR\r\n");
}
