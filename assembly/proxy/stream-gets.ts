// A get of more keys than one request of a connection takes (PART_KEYS), over TCP: memcached
// reads a multiget of any length, and clients send them (pymemcache's get_many, libmemcached's
// mget put every key of a server in one line). kvlb serves it as consecutive requests of up to
// PART_KEYS keys each, numbered one after the other on the connection, so the host writes their replies back
// in order, and only the last one ends with END. All its parts are served in one burst, and only
// when the out ring has room for everything they may queue, so no part of the reply is dropped.
import { cfgU32 } from "../layout/header";
import { C_OUT_MAX } from "../abi/abi";
import { findNewline, contentEnd, skipSpaces, tokenEnd } from "../protocol/text";
import { commandCode, CMD_GET, CMD_GETS, CMD_GAT, CMD_GATS } from "../protocol/commands";
import { FRAME_HEADER } from "../protocol/udp-frame";
import { outRoom, txFree, writeAscii } from "../io/out-ring";
import { backendCount } from "../route/backends";
import { buildBegin } from "./forward";
import { serveAsRequest } from "./stream-serve";
import { MAX_CHILDREN, SERVE_NO_END } from "./context";

// A part's keys: each may take a request to a backend of its own, to be answered in order
// (reply-order.ts).
const PART_KEYS: u32 = MAX_CHILDREN;

// The out descriptors a part may queue beyond one per key: a request to each backend, its done
// marker and the group's END.
const PER_PART = 2;

// The keys of a text get, gets, gat or gats line that holds more than PART_KEYS of them; 0 for
// any other request.
export function splitGetKeys(p: usize, size: usize): u32 {
  if (load<u8>(p) == 0x80) return 0;
  const newline = findNewline(p, p + size);
  const lineEnd = contentEnd(p, newline);
  const start = skipSpaces(p, lineEnd);
  const cmdEnd = tokenEnd(start, lineEnd);
  const code = commandCode(start, cmdEnd);
  if (code != CMD_GET && code != CMD_GETS && code != CMD_GAT && code != CMD_GATS) return 0;
  let keys: u32 = 0;
  for (let q = skipSpaces(cmdEnd, lineEnd); q < lineEnd; q = skipSpaces(tokenEnd(q, lineEnd), lineEnd)) keys++;
  if (code == CMD_GAT || code == CMD_GATS) keys--; // the exptime
  return keys > PART_KEYS ? keys : 0;
}

export const SPLIT_NEVER: u32 = 0xffffffff; // more than one burst's out ring could ever take
export const SPLIT_NOT_NOW: u32 = 0; // wait for a burst with more room

// How many parts a get of `keys` keys is served in, SPLIT_NOT_NOW, or SPLIT_NEVER (the get is
// then answered as one request: too many keys).
export function splitGetParts(keys: u32, size: usize): u32 {
  const parts = (keys + PART_KEYS - 1) / PART_KEYS;
  const need = keys + parts * (backendCount() + PER_PART);
  if (need > cfgU32(C_OUT_MAX)) return SPLIT_NEVER;
  if (!outRoom(need) || txFree() < 2 * (size + <usize>parts * (FRAME_HEADER + 16))) return SPLIT_NOT_NOW;
  return parts;
}

// Serves the get at p as `parts` requests numbered from n on connection conn.
export function serveSplitGet(p: usize, size: usize, conn: u32, n: u32, parts: u32, opts: u8): void {
  const newline = findNewline(p, p + size);
  const lineEnd = contentEnd(p, newline);
  const cmd = skipSpaces(p, lineEnd);
  const cmdEnd = tokenEnd(cmd, lineEnd);
  const code = commandCode(cmd, cmdEnd);
  // the command word, and a gat's exptime: every part repeats them
  let headEnd = cmdEnd;
  if (code == CMD_GAT || code == CMD_GATS) headEnd = tokenEnd(skipSpaces(cmdEnd, lineEnd), lineEnd);
  const headLen = headEnd - cmd;
  let q = skipSpaces(headEnd, lineEnd);
  for (let part: u32 = 0; part < parts; part++) {
    // this part's keys: [first, q) once counted
    const first = q;
    let keys: u32 = 0;
    let last = q;
    while (q < lineEnd && keys < PART_KEYS) {
      last = tokenEnd(q, lineEnd);
      keys++;
      q = skipSpaces(last, lineEnd);
    }
    const len = headLen + 1 + (last - first) + 2;
    const payload = buildBegin(len);
    if (payload == 0) return; // splitGetParts made room: not reached
    let at = payload;
    memory.copy(at, cmd, headLen);
    at += headLen;
    store<u8>(at++, 0x20);
    memory.copy(at, first, last - first);
    at += last - first;
    writeAscii(at, "\r\n");
    serveAsRequest(payload, len, conn, (n + part) & 0xffff, part + 1 < parts ? opts | SERVE_NO_END : opts);
  }
}
