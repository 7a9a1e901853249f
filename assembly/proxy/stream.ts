// A connection's bytes (TCP). Each whole request in them is served as a datagram of its own
// would be, by the same code: it is copied behind a memcached frame header whose request id is
// its sequence number on the connection, and handed to serveClient with the connection as its
// client (id, port 0). So a request over TCP is parsed, counted, cached, routed and answered
// exactly as over UDP, and its replies carry its number for the host to put back in order.
// stream-refs.ts tells the host when each request has all its reply.
import { regionSize, statInc, statAdd, cfgU32 } from "../layout/header";
import { streamRequestBytes, FRAME_MORE, FRAME_LINE_TOO_LONG } from "../protocol/stream-frame";
import { FRAME_HEADER } from "../protocol/udp-frame";
import { replyText, replyBinary, outRoom, txFree, writeAscii } from "../io/out-ring";
import { findNewline, contentEnd, skipSpaces, tokenEnd } from "../protocol/text";
import { commandCode, CMD_SET } from "../protocol/commands";
import { BS_INVALID_ARGUMENTS } from "../protocol/binary";
import { buildBegin } from "./forward";
import { serveAsRequest } from "./stream-serve";
import { workClosing, SERVE_ADMIN } from "./context";
import { splitGetKeys, splitGetParts, serveSplitGet, SPLIT_NEVER, SPLIT_NOT_NOW } from "./stream-gets";
import { streamBegin, streamEnd, streamForget } from "./stream-refs";
import {
  C_OUT_MAX,
  C_BACKEND_STREAMS,
  R_TXBUF,
  D_LEN,
  D_AUX,
  D_FLAGS,
  RF_CLOSE,
  RF_AGAIN,
  S_STREAM_REQUESTS,
  S_STREAM_CLOSED,
} from "../abi/abi";

// The largest request kvlb forwards: one UDP datagram to a backend, header included, or, when
// the backends are reached over TCP, half the tx buffer (a request may be copied twice there:
// out of the connection's bytes, and into what goes to the backend). A larger one is answered
// as memcached answers an item over its limit, and skipped as it arrives.
export const MAX_STREAM_REQUEST: usize = 65507 - FRAME_HEADER;
const COPY_SLACK: usize = 64;
// Requests taken from one connection in one burst: the others wait for the next.
const PER_BURST: u32 = 64;
const BINARY_VALUE_TOO_LARGE: u16 = 0x0003;

// Serves the whole requests in [off, off + len) of connection `conn`, whose next request is
// number `seq`; writes what it took to the tx descriptor at `tx`.
export function handleStream(off: usize, len: usize, conn: u32, seq: u32, admin: bool, tx: usize): void {
  const end = off + len;
  let p = off;
  let taken: u32 = 0;
  let skip: u64 = 0;
  let flags: u32 = 0;
  const half = regionSize(R_TXBUF) / 2 - FRAME_HEADER - COPY_SLACK;
  const largest = cfgU32(C_BACKEND_STREAMS) != 0 ? half : min<usize>(MAX_STREAM_REQUEST, half);
  while (p < end) {
    const size = streamRequestBytes(p, end);
    if (size == FRAME_MORE) break;
    if (taken >= PER_BURST) {
      flags = RF_AGAIN;
      break;
    }
    const n = (seq + taken) & 0xffff;
    if (size == FRAME_LINE_TOO_LONG) {
      // memcached closes such a connection too: nothing after it can be framed
      statInc(S_STREAM_CLOSED);
      answerAlone(conn, n, p, "CLIENT_ERROR line too long\r\n");
      taken++;
      flags = RF_CLOSE;
      break;
    }
    if (<u64>size > <u64>largest) {
      // memcached unlinks the key's old value when a set is too large for it, so that a client
      // told its set failed never reads the value the set meant to replace: kvlb deletes it at
      // the key's server, through the write barrier, and the error goes back once that is done
      const key = tooLargeSetKey(p, end);
      if (key == KEY_NOT_YET) break; // a binary set whose key has not all arrived
      // held across the delete and the error, which both serve request n
      const own = streamBegin(conn, n);
      if (key != NO_KEY && !deleteFor(conn, n, <usize>(key >> 16), <usize>(key & 0xffff))) {
        streamForget(conn, n, own);
        flags = RF_AGAIN;
        break;
      }
      answerAlone(conn, n, p, "SERVER_ERROR object too large for cache\r\n");
      streamEnd(conn, n, own);
      taken++;
      // the host drops the rest of it as it comes, and passes again what followed it
      skip = <u64>(p - off) + <u64>size;
      flags = RF_AGAIN;
      p = end;
      break;
    }
    if (<u64>size > <u64>(end - p)) break;
    const keys = splitGetKeys(p, <usize>size);
    const parts = keys == 0 ? SPLIT_NEVER : splitGetParts(keys, <usize>size);
    if (parts != SPLIT_NEVER) {
      if (parts == SPLIT_NOT_NOW || (taken > 0 && taken + parts > PER_BURST)) {
        flags = RF_AGAIN;
        break;
      }
      serveSplitGet(p, <usize>size, conn, n, parts, admin ? SERVE_ADMIN : 0);
      p += <usize>size;
      taken += parts;
      continue;
    }
    // a connection's reply must never be dropped for a full ring: what a request may queue
    // (one answer per key of a get, a tail, its done) must fit, or it waits for the next burst
    if (
      !outRoom(min<u32>(outNeed(p, <usize>size), cfgU32(C_OUT_MAX))) ||
      txFree() < 2 * (<usize>size + FRAME_HEADER + COPY_SLACK)
    ) {
      flags = RF_AGAIN;
      break;
    }
    if (!serveOne(p, <usize>size, conn, n, admin)) {
      flags = RF_AGAIN;
      break;
    }
    p += <usize>size;
    taken++;
    if (workClosing()) {
      // a quit, or an HTTP request line: what came after it is never read
      flags = RF_CLOSE;
      break;
    }
  }
  statAdd(S_STREAM_REQUESTS, <u64>taken);
  store<u32>(tx, skip != 0 ? <u32>min<u64>(skip, 0xffffffff) : <u32>(p - off), D_LEN);
  store<u32>(tx, taken, D_AUX);
  store<u32>(tx, flags, D_FLAGS);
}

// The out descriptors a request may queue at most: one per word of its line (a get's keys), and
// a few more.
function outNeed(p: usize, size: usize): u32 {
  if (load<u8>(p) == 0x80) return 8;
  let words: u32 = 8;
  for (let q = p; q < p + size; q++) {
    const c = load<u8>(q);
    if (c == 0x0a) break;
    if (c == 0x20) words++;
  }
  return words;
}

// One request as a datagram of its own; false when there is no room to build it this burst.
function serveOne(p: usize, size: usize, conn: u32, n: u32, admin: bool): bool {
  const payload = buildBegin(size);
  if (payload == 0) return false;
  memory.copy(payload, p, size);
  serveAsRequest(payload, size, conn, n, admin ? SERVE_ADMIN : 0);
  return true;
}

// A request kvlb answers without serving it, in its protocol.
function answerAlone(conn: u32, n: u32, p: usize, text: string): void {
  const own = streamBegin(conn, n);
  if (load<u8>(p) == 0x80) {
    const status = text.startsWith("SERVER_ERROR") ? BINARY_VALUE_TOO_LARGE : BS_INVALID_ARGUMENTS;
    replyBinary(load<u8>(p + 1), status, bswap<u32>(load<u32>(p + 12)), "Too large", conn, 0, n);
  } else {
    replyText(text, conn, 0, n);
  }
  streamEnd(conn, n, own);
}

const NO_KEY: u64 = 0;
const KEY_NOT_YET: u64 = u64.MAX_VALUE;
const OP_SET: u8 = 0x01;
const OP_SETQ: u8 = 0x11;

// The key of a set (text, or binary set or setq) as (address << 16 | length), when a text delete
// can carry it; NO_KEY for any other request; KEY_NOT_YET when a binary key has not all arrived.
function tooLargeSetKey(p: usize, end: usize): u64 {
  let key: usize = 0;
  let len: usize = 0;
  if (load<u8>(p) == 0x80) {
    const op = load<u8>(p + 1);
    if (op != OP_SET && op != OP_SETQ) return NO_KEY;
    len = <usize>bswap<u16>(load<u16>(p + 2));
    key = p + 24 + <usize>load<u8>(p + 4);
    if (key + len > end) return KEY_NOT_YET;
  } else {
    const newline = findNewline(p, end);
    const lineEnd = contentEnd(p, newline);
    const start = skipSpaces(p, lineEnd);
    const cmdEnd = tokenEnd(start, lineEnd);
    if (commandCode(start, cmdEnd) != CMD_SET) return NO_KEY;
    key = skipSpaces(cmdEnd, lineEnd);
    len = tokenEnd(key, lineEnd) - key;
  }
  if (len == 0 || len > 250) return NO_KEY;
  for (let i: usize = 0; i < len; i++) if (load<u8>(key + i) <= 0x20 || load<u8>(key + i) == 0x7f) return NO_KEY;
  return ((<u64>key) << 16) | (<u64>len);
}

// Serves "delete <key> noreply" as request n of the connection; false when there is no room.
function deleteFor(conn: u32, n: u32, key: usize, len: usize): bool {
  const size: usize = 7 + len + 10;
  const payload = buildBegin(size);
  if (payload == 0) return false;
  const at = writeAscii(payload, "delete ");
  memory.copy(at, key, len);
  writeAscii(at + len, " noreply\r\n");
  serveAsRequest(payload, size, conn, n, 0);
  return true;
}
