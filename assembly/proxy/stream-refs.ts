// What still answers each request of a connection (TCP). A connection's replies must leave in
// the order of its requests, so the host needs to know when a request has all of its reply:
// then the next one's may follow. Everything that can still answer a request holds it here:
// its handler while it runs, each NAT entry taken for its client (a child, a group), a parked
// get. When the last lets go, the core queues an empty OUT_STREAM_DONE for it, after every
// reply it queued before.
//
// The handler's own hold stays out of the table (H_STREAM_RUN_*): most requests are answered
// while it runs (the cache) or held by one NAT entry besides, and the table is large enough that
// each probe of it is a cache miss. The request enters the table only when something else holds
// it, with a reference for the handler too.
//
// A stream client is (connection id, port 0, request sequence number): io/out-ring.ts,
// isStreamClient.
import { regionOffset, cfgU32 } from "../layout/header";
import { outPush } from "../io/out-ring";
export { isStreamClient } from "../io/out-ring";
import {
  R_STREAMS,
  C_NAT_ENTRIES,
  PARKED_READS,
  OUT_STREAM_DONE,
  HEADER_BASE,
  H_STREAM_OWED,
  H_STREAM_RUN_CONN,
  H_STREAM_RUN_SEQ,
  H_STREAM_RUN_TABLED,
} from "../abi/abi";

const ENTRY: usize = 8; // conn u32 (0: free), seq u16, refs u16
const CONN: usize = 0;
const SEQ: usize = 4;
const REFS: usize = 6;

// Room for every request that can be held at once, at most half full: each holds a NAT entry
// or a parked get, and one handler runs at a time.
export function streamSlots(natEntries: u32): u32 {
  const need = (natEntries + <u32>PARKED_READS + 1) * 2;
  return 1 << (32 - clz<u32>(need - 1));
}

export function streamBytes(natEntries: u32): usize {
  return <usize>streamSlots(natEntries) * ENTRY;
}

@inline function slots(): u32 {
  return streamSlots(cfgU32(C_NAT_ENTRIES));
}

@inline function slot(i: u32): usize {
  return regionOffset(R_STREAMS) + <usize>i * ENTRY;
}

// A connection's requests in flight have consecutive numbers: they sit side by side, so that
// those of one burst share cache lines.
@inline function home(conn: u32, seq: u32): u32 {
  return (conn * 0x9e3779b1 + (seq & 0xffff)) & (slots() - 1);
}

export function streamClear(): void {
  memory.fill(regionOffset(R_STREAMS), 0, <usize>slots() * ENTRY);
  store<u32>(HEADER_BASE + H_STREAM_OWED, 0);
  store<u32>(HEADER_BASE + H_STREAM_RUN_CONN, 0);
}

// The handler of request seq of conn starts; true when its hold is the one kept outside the
// table, which streamEnd must then be told. A handler that starts inside another's (a too-large
// set's delete and error, held across both) holds through the table.
export function streamBegin(conn: u32, seq: u32): bool {
  if (load<u32>(HEADER_BASE + H_STREAM_RUN_CONN) != 0) {
    streamHold(conn, seq);
    return false;
  }
  store<u32>(HEADER_BASE + H_STREAM_RUN_CONN, conn);
  store<u32>(HEADER_BASE + H_STREAM_RUN_SEQ, seq & 0xffff);
  store<u32>(HEADER_BASE + H_STREAM_RUN_TABLED, 0);
  return true;
}

// The handler streamBegin started ends.
export function streamEnd(conn: u32, seq: u32, own: bool): void {
  if (!own) {
    streamRelease(conn, seq);
    return;
  }
  store<u32>(HEADER_BASE + H_STREAM_RUN_CONN, 0);
  if (load<u32>(HEADER_BASE + H_STREAM_RUN_TABLED) != 0) streamRelease(conn, seq);
  else if (!outPush(0, 0, conn, seq & 0xffff, OUT_STREAM_DONE)) {
    insert(conn, seq, 0);
    store<u32>(HEADER_BASE + H_STREAM_OWED, load<u32>(HEADER_BASE + H_STREAM_OWED) + 1);
  }
}

// A handler that started but served nothing (it will run again): nothing can hold its request.
export function streamForget(conn: u32, seq: u32, own: bool): void {
  if (own) store<u32>(HEADER_BASE + H_STREAM_RUN_CONN, 0);
  else letGo(conn, seq, false);
}

// The request is held once more.
export function streamHold(conn: u32, seq: u32): void {
  if (
    conn == load<u32>(HEADER_BASE + H_STREAM_RUN_CONN) &&
    (seq & 0xffff) == load<u32>(HEADER_BASE + H_STREAM_RUN_SEQ) &&
    load<u32>(HEADER_BASE + H_STREAM_RUN_TABLED) == 0
  ) {
    // first held by something besides its handler: both holds go into the table
    store<u32>(HEADER_BASE + H_STREAM_RUN_TABLED, 1);
    insert(conn, seq, 2);
    return;
  }
  const mask = slots() - 1;
  for (let i = home(conn, seq), n: u32 = 0; n <= mask; i = (i + 1) & mask, n++) {
    const e = slot(i);
    const c = load<u32>(e + CONN);
    if (c == 0) {
      store<u32>(e + CONN, conn);
      store<u16>(e + SEQ, <u16>seq);
      store<u16>(e + REFS, 1);
      return;
    }
    if (c == conn && <u32>load<u16>(e + SEQ) == (seq & 0xffff)) {
      store<u16>(e + REFS, load<u16>(e + REFS) + 1);
      return;
    }
  }
}

// A new entry with `refs` holds; the caller knows the request is not in the table.
function insert(conn: u32, seq: u32, refs: u16): void {
  const mask = slots() - 1;
  for (let i = home(conn, seq), n: u32 = 0; n <= mask; i = (i + 1) & mask, n++) {
    const e = slot(i);
    if (load<u32>(e + CONN) != 0) continue;
    store<u32>(e + CONN, conn);
    store<u16>(e + SEQ, <u16>seq);
    store<u16>(e + REFS, refs);
    return;
  }
}

// One hold of the request ends; the last queues its OUT_STREAM_DONE.
export function streamRelease(conn: u32, seq: u32): void {
  letGo(conn, seq, true);
}

// One hold ends; the last queues the request's done marker when `done`, else the request is
// forgotten (it will be taken again).
function letGo(conn: u32, seq: u32, done: bool): void {
  const mask = slots() - 1;
  for (let i = home(conn, seq), n: u32 = 0; n <= mask; i = (i + 1) & mask, n++) {
    const e = slot(i);
    const c = load<u32>(e + CONN);
    if (c == 0) return;
    if (c != conn || <u32>load<u16>(e + SEQ) != (seq & 0xffff)) continue;
    const refs = load<u16>(e + REFS);
    if (refs > 1) {
      store<u16>(e + REFS, refs - 1);
      return;
    }
    if (!done || outPush(0, 0, conn, seq & 0xffff, OUT_STREAM_DONE)) remove(i);
    else {
      // owed: without it the connection's later replies would wait forever
      store<u16>(e + REFS, 0);
      store<u32>(HEADER_BASE + H_STREAM_OWED, load<u32>(HEADER_BASE + H_STREAM_OWED) + 1);
    }
    return;
  }
}

// The done markers owed, queued now that the ring has room (each process and tick).
export function streamOwedRetry(): void {
  let owed = load<u32>(HEADER_BASE + H_STREAM_OWED);
  if (owed == 0) return;
  const count = slots();
  for (let i: u32 = 0; i < count && owed != 0;) {
    const e = slot(i);
    if (load<u32>(e + CONN) == 0 || load<u16>(e + REFS) != 0) {
      i++;
      continue;
    }
    if (!outPush(0, 0, load<u32>(e + CONN), <u32>load<u16>(e + SEQ), OUT_STREAM_DONE)) break;
    owed--;
    remove(i); // an entry may move back into slot i: look at it again
  }
  store<u32>(HEADER_BASE + H_STREAM_OWED, owed);
}

// Linear probing's deletion: the entries after the hole that could sit in it move back.
function remove(hole: u32): void {
  const mask = slots() - 1;
  let free = hole;
  for (let i = (hole + 1) & mask; load<u32>(slot(i) + CONN) != 0; i = (i + 1) & mask) {
    const h = home(load<u32>(slot(i) + CONN), <u32>load<u16>(slot(i) + SEQ));
    // the entry may fill the hole when its home is not within (free, i]
    if (((i - h) & mask) >= ((i - free) & mask)) {
      memory.copy(slot(free), slot(i), ENTRY);
      free = i;
    }
  }
  store<u32>(slot(free) + CONN, 0);
}

// Requests still held (tests, and a stats report).
export function streamsHeld(): u32 {
  let n: u32 = 0;
  const count = slots();
  for (let i: u32 = 0; i < count; i++) if (load<u32>(slot(i) + CONN) != 0) n++;
  return n;
}
