// A datagram from a client: its frame header is checked as memcached checks it, then each
// command in it is routed, answered from a cache, or answered here.
import { statInc } from "../layout/header";
import {
  S_CLIENT_DATAGRAMS,
  S_DROP_FRAME,
  S_DROP_TOO_LARGE,
  S_UNKNOWN_COMMANDS,
  S_DROP_INCOMPLETE,
  S_FRAME_RESERVED,
  S_NO_BACKEND,
  S_CLIENT_ERRORS,
  PE_PURGE,
  OUT_BACKEND,
} from "../abi/abi";
import { FRAME_HEADER, frameId, frameTotal, frameReserved } from "../protocol/udp-frame";
import { findNewline, contentEnd, tokenEnd, NOT_FOUND, TEXT_LINE_MAX, startsWith } from "../protocol/text";
import {
  commandCode,
  CMD_GET,
  CMD_GETS,
  CMD_GAT,
  CMD_GATS,
  CMD_SET,
  CMD_ADD,
  CMD_CAS,
  CMD_DELETE,
  CMD_ARITH,
  CMD_TOUCH,
  CMD_MN,
  CMD_MG,
  CMD_MS,
  CMD_MD,
  CMD_MA,
  CMD_ME,
  CMD_VERSION,
  CMD_REFUSED,
  CMD_FLUSH_ALL,
  CMD_QUIT,
} from "../protocol/commands";
import {
  workBegin,
  workFinish,
  workSplit,
  workSilent,
  workClose,
  workClosing,
  workServe,
  workServing,
  SERVE_ADMIN,
} from "./context";
import { handleGet } from "./get";
import { handleStore, handleKeyed } from "./write";
import { handleMeta, handleMn } from "./meta";
import { handleBinary } from "./binary";
import { newChild, sendInPlace, answer, serverError, refuseCommand, buildBegin, sendBuilt } from "./forward";
import { workU32, workFlag, W_ADDR, W_PORT } from "./context";
import { adminClient } from "./guard";
import { purge, PURGE_ALL } from "../cache/purge";
import { peerEmit, peerRoomForWrite } from "../cache/peers";
import { natUsed } from "./nat";
import { isWord } from "../protocol/text";
import { FAIL_NO_BACKENDS, FAIL_DOWN, FAIL_OVERLOAD } from "./failures";
import { admitClient } from "./guard";
import { FAULT, FAULT_SEND } from "../util/fault";
import { replyText, outPush } from "../io/out-ring";
import { readStamp } from "../cache/barrier";
import { backendCount, activeBackends, firstUp, backendUp } from "../route/backends";
import { NAT_NONE, NK_GET, NK_GETS, NK_OTHER, NK_FLUSH, GF_FLUSH } from "./nat";

const STRAY_PORT: u32 = 9999;

export function handleClient(slot: usize, len: usize, addr: u32, port: u32, truncated: bool): void {
  if (admitDatagram(slot, len, addr, port, truncated)) serveClient(slot, len, addr, port);
}

// Whether a client's datagram is one kvlb serves: whole, from a source it answers, with a
// memcached frame header it accepts. Counts every refusal.
export function admitDatagram(slot: usize, len: usize, addr: u32, port: u32, truncated: bool): bool {
  statInc(S_CLIENT_DATAGRAMS);
  if (truncated) {
    statInc(S_DROP_TOO_LARGE);
    return false;
  }
  if (!admitClient(addr, port, len)) return false;
  if (len < FRAME_HEADER || frameTotal(slot) != 1) {
    statInc(S_DROP_FRAME);
    return false;
  }
  return true;
}

// An admitted datagram: each command in it is routed, answered from a cache, or answered here.
// `opts`: SERVE_* (context.ts), from the TCP side.
export function serveClient(slot: usize, len: usize, addr: u32, port: u32, opts: u8 = 0): void {
  // memcached ignores the reserved field, and memcaslap fills it; count it, serve it.
  if (frameReserved(slot) != 0) statInc(S_FRAME_RESERVED);
  if (FAULT == FAULT_SEND) {
    // a module that sends where no one asked: to an address that never sent a datagram (one the
    // frame layer has no next hop for, so it leaves through the kernel), to a port of the client
    // that never sent one (a frame, on the frame paths), and to each as if it were a backend;
    // the host's send guard refuses all four
    const stray: u32 = 0x4d00007f; // 127.0.0.77, as sin_addr reads
    replyText("stray\r\n", stray, STRAY_PORT, 0);
    outPush(slot, len, stray, STRAY_PORT, OUT_BACKEND);
    replyText("stray\r\n", addr, STRAY_PORT, 0);
    outPush(slot, len, addr, port, OUT_BACKEND);
  }
  workBegin(slot, len, addr, port, frameId(slot));
  workServe(opts);
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
    if (next == 0 || workClosing()) break;
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
  const code = commandCode(p, cmdEnd);
  workSilent(endsInNoreply(code, p, lineEnd));
  // a gat's keys are sent in lines short enough (get.ts); any other line that long is refused
  // with the rest of its datagram, a storage command's data among it
  if (next - p > TEXT_LINE_MAX && code != CMD_GET && code != CMD_GETS && code != CMD_GAT && code != CMD_GATS) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR line too long\r\n");
    return 0;
  }
  switch (code) {
    case CMD_GET:
    case CMD_GETS:
    case CMD_GAT:
    case CMD_GATS: {
      handleGet(p, cmdEnd, lineEnd, code == CMD_GET ? NK_GET : NK_GETS, code == CMD_GAT || code == CMD_GATS, alone);
      if (next < end) workSplit(); // each get of a datagram has its own END
      return next;
    }
    case CMD_SET:
      return handleStore(p, cmdEnd, lineEnd, newline, end, false, true, first);
    case CMD_ADD:
      return handleStore(p, cmdEnd, lineEnd, newline, end, false, false, first);
    case CMD_CAS:
      return handleStore(p, cmdEnd, lineEnd, newline, end, true, false, first);
    case CMD_DELETE:
      handleKeyed(p, cmdEnd, lineEnd, next, end, 0, first);
      return next;
    case CMD_ARITH:
    case CMD_TOUCH:
      handleKeyed(p, cmdEnd, lineEnd, next, end, 1, first);
      return next;
    case CMD_MN:
      handleMn();
      return next;
    case CMD_MG:
    case CMD_MS:
    case CMD_MD:
    case CMD_MA:
    case CMD_ME:
      return handleMeta(p, cmdEnd, lineEnd, newline, end, code, first);
    case CMD_VERSION:
      version(alone);
      return next;
    case CMD_REFUSED:
      refuseCommand();
      return next;
    case CMD_QUIT:
      workClose();
      return 0;
    case CMD_FLUSH_ALL:
      // over TCP the client is a connection, which the host marked when it came from admin.clients
      if (workServing(SERVE_ADMIN) || (workU32(W_PORT) != 0 && adminClient(workU32(W_ADDR)))) flushAll(p, lineEnd);
      else refuseCommand();
      return next;
  }
  statInc(S_UNKNOWN_COMMANDS);
  // memcached hangs up on what looks like an HTTP request line, unanswered
  if (httpRequestLine(p, lineEnd)) {
    workClose();
    return 0;
  }
  answer("ERROR\r\n");
  return next;
}

// An admin client's flush_all (admin.clients), as mcrouter's all-sync route sends it: every
// worker's caches emptied, the command sent to every backend up, and one OK once each of them
// said OK (an error if one did not).
function flushAll(cmd: usize, lineEnd: usize): void {
  const noreply = lineEnd - cmd > 8 && isWord(lineEnd - 8, lineEnd, " noreply");
  const lineLen = (noreply ? lineEnd - 8 : lineEnd) - cmd;
  if (!peerRoomForWrite(natUsed())) {
    serverError(FAIL_OVERLOAD);
    return;
  }
  purge(PURGE_ALL);
  peerEmit(0, PE_PURGE);
  let sent: u32 = 0;
  const n = backendCount();
  for (let b: u32 = 0; b < n; b++) {
    if (!backendUp(b)) continue;
    const payload = buildBegin(lineLen + 2);
    if (payload == 0) break;
    const id = newChild(NK_FLUSH, b, 0, readStamp(), 0);
    if (id == NAT_NONE) break;
    memory.copy(payload, cmd, lineLen);
    store<u16>(payload + lineLen, 0x0a0d);
    sendBuilt(id, b, payload, lineLen + 2);
    sent++;
  }
  if (sent == 0) {
    if (!noreply) serverError(FAIL_DOWN);
  } else if (!noreply) {
    workFlag(<u32>GF_FLUSH);
  }
}

// Answered by the first backend up, so that a client's version check sees a real memcached.
function version(alone: bool): void {
  const b = firstUp();
  if (activeBackends() == 0) {
    statInc(S_NO_BACKEND);
    serverError(FAIL_NO_BACKENDS);
  } else if (b == 0xffffffff) {
    serverError(FAIL_DOWN);
  } else if (alone) {
    const id = newChild(NK_OTHER, b, 0, readStamp(), 0);
    if (id != NAT_NONE) sendInPlace(id, b);
  } else {
    answer("SERVER_ERROR send version in a datagram of its own\r\n");
  }
}

// Whether memcached sends nothing at all to this command, errors included: a storage, delete,
// incr/decr, touch or whole-server command whose last word is "noreply".
function endsInNoreply(code: u32, p: usize, lineEnd: usize): bool {
  switch (code) {
    case CMD_SET:
    case CMD_ADD:
    case CMD_CAS:
    case CMD_DELETE:
    case CMD_ARITH:
    case CMD_TOUCH:
    case CMD_REFUSED:
    case CMD_FLUSH_ALL: {
      const end = trimmedEnd(p, lineEnd);
      const last = lastTokenStart(p, end);
      return last > p && isWord(last, end, "noreply");
    }
  }
  return false;
}

// Whether a line of several words ends in one that starts with "HTTP/".
function httpRequestLine(p: usize, lineEnd: usize): bool {
  const end = trimmedEnd(p, lineEnd);
  const last = lastTokenStart(p, end);
  return last > p && startsWith(last, end, "HTTP/");
}

function trimmedEnd(p: usize, lineEnd: usize): usize {
  let end = lineEnd;
  while (end > p && load<u8>(end - 1) == 0x20) end--;
  return end;
}

function lastTokenStart(p: usize, end: usize): usize {
  let start = end;
  while (start > p && load<u8>(start - 1) != 0x20) start--;
  return start;
}
