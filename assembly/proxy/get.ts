// get, gets, gat and gats: every key is counted by the detector; a plain get of a key that a
// cache holds, with no write in flight, is answered here; the other keys go to their ketama
// backends, one request per backend, and the client sees a single END.
import { statInc, cfgU32 } from "../layout/header";
import { keyHash } from "../util/hash";
import { isHot } from "../detect/table";
import { detObserve, DETECTOR, DET_WEIGHTED } from "../detect/detector";
import { servingCost } from "../cache/cost";
import { FAULT, FAULT_PROCESS, isTrapKey } from "../util/fault";
import { lookup } from "../cache/layers";
import { barrierPending, readStamp } from "../cache/barrier";
import { detector } from "../layout/regions";
import { ROUTE_DOWN } from "../route/ketama";
import { skipSpaces, tokenEnd, startsWith, TEXT_LINE_MAX } from "../protocol/text";
import { keyValid } from "../protocol/keys";
import { replyMessage, replyFits } from "../io/out-ring";
import {
  work,
  workU32,
  workFlag,
  W_FLAGS,
  W_ADDR,
  W_PORT,
  W_ID,
  W_MISSES,
  W_LOOKUP,
  W_STAGED,
  MAX_GET_KEYS,
  MAX_CHILDREN,
  W_RUNS,
  workServing,
  workOrdered,
  SERVE_NO_END,
} from "./context";
import { orderedId, ORDER_NONE, ORDER_FIRST, ORDER_LOST } from "./reply-order";
import { placesHead, placesAdd } from "./key-places";
import { isStreamClient } from "./stream-refs";
import {
  newChild,
  sendInPlace,
  buildBegin,
  sendBuilt,
  answer,
  requestFill,
  serverError,
  keyBackend,
  NO_BACKEND,
} from "./forward";
import { FAIL_NO_BACKENDS, FAIL_DOWN, FAIL_OVERLOAD } from "./failures";
import { fillWanted, expiryChanged, isCached } from "../cache/proxy-writes";
import { parkRead } from "./parked-reads";
import { movedFrom, fallbackOnGetMiss, askMoved } from "./migrate";
import { NO_OWNER } from "../route/old-ring";
import { peerRoomForWrite } from "../cache/peers";
import { natUsed } from "./nat";
import { replicaConsider, replicaPick, replicaServer, NO_SET } from "../cache/replicas";
import { replicaFill, sendCopyGet } from "./replica-fill";
import { NAT_NONE, NK_GET, NK_GETS, GF_END, GF_ERRORED, NF_PLACED, natEntry, N_PLACES_AT, N_PLACES_LEFT } from "./nat";
import {
  LAYER_L1,
  LAYER_L2,
  S_KEYS,
  S_CACHE_REPLIES,
  S_L1_HITS,
  S_L2_HITS,
  S_L1_MISSES,
  S_L2_MISSES,
  S_NO_BACKEND,
  S_CLIENT_ERRORS,
  S_UNKNOWN_COMMANDS,
  S_DROP_OUT_FULL,
  MAX_BACKENDS,
  D_OFF,
  D_LEN,
  C_BACKEND_STREAMS,
} from "../abi/abi";

const DONE: u16 = 0xffff;
const TAKEN: u16 = 0xfffe; // a miss going into the line being built
const WANTS_FILL: u16 = 0x8000; // on a miss's key length: the caches want its value

// [cmd, cmdEnd) is the command word, the line's content ends at lineEnd. `inPlace` says the
// datagram holds nothing but this command. Returns false when the datagram must stop here.
export function handleGet(cmd: usize, cmdEnd: usize, lineEnd: usize, kind: u8, hasExptime: bool, inPlace: bool): bool {
  let p = skipSpaces(cmdEnd, lineEnd);
  let expStart: usize = 0;
  let expEnd: usize = 0;
  if (hasExptime) {
    expStart = p;
    expEnd = tokenEnd(p, lineEnd);
    if (expEnd == expStart || !exptimeValid(expStart, expEnd)) {
      statInc(S_CLIENT_ERRORS);
      answer("CLIENT_ERROR invalid exptime argument\r\n");
      return true;
    }
    p = skipSpaces(expEnd, lineEnd);
  }
  let keys: u32 = 0;
  for (let q = p; q < lineEnd;) {
    const te = tokenEnd(q, lineEnd);
    if (!keyValid(q, te - q)) {
      statInc(S_CLIENT_ERRORS);
      answer("CLIENT_ERROR bad command line format\r\n");
      return true;
    }
    keys++;
    q = skipSpaces(te, lineEnd);
  }
  if (keys == 0) {
    statInc(S_UNKNOWN_COMMANDS);
    answer("ERROR\r\n");
    return true;
  }
  // a gat changes each key's expiry, which the other workers must hear of like a write's
  if (hasExptime && !peerRoomForWrite(natUsed() + 2 * keys)) {
    serverError(FAIL_OVERLOAD);
    return true;
  }
  if (keys > MAX_GET_KEYS) {
    statInc(S_CLIENT_ERRORS);
    answer("CLIENT_ERROR too many keys in one get (kvlb takes 512)\r\n");
    return true;
  }
  const w = work();
  // a part of a get kvlb split (stream-gets.ts) leaves the END to the last part
  const ends = !workServing(SERVE_NO_END);
  // A connection's get of several keys answers them in order (reply-order.ts). Each hit takes the
  // next place. Over TCP backends, so does each run of misses next to one another on one backend,
  // and each run goes in a line of its own, whose reply memcached gives in the order of its keys
  // (the host merges runs of one key again). Over UDP, each miss takes a place of its own, a
  // backend's keys go in one line as they would unordered, and each value of its reply is sent on
  // with its key's place (key-places.ts): a line per run would be a datagram per run.
  const ordered = isStreamClient(workU32(W_ADDR), workU32(W_PORT)) && keys > 1 && keys <= MAX_CHILDREN;
  const placed = ordered && cfgU32(C_BACKEND_STREAMS) == 0;
  if (ordered) workOrdered();
  const runs = w + W_RUNS;
  let order: u32 = ORDER_FIRST - 1;
  let runBroken = true; // a hit took a place since the last miss
  let runBytes: usize = 0;
  const word = cmdEnd - cmd;
  const head: usize = word + (hasExptime ? expEnd - expStart + 1 : 0) + 2;
  // memcached reads a get or gets line of any length, but closes the connection over a longer
  // gat line (text.ts): a backend's gat keys go in as many lines as that takes
  const most: usize = hasExptime ? TEXT_LINE_MAX : <usize>u32.MAX_VALUE;
  if (keys != 1 && ends) workFlag(<u32>GF_END); // a get of one key sets it once it knows it missed
  const d = detector();
  const misses = w + W_MISSES;
  const stamp = readStamp();
  let missCount: u32 = 0;
  let oneBackend = true;
  // get, gets, gat and gats fall back to a moved key's old owner (a gat touches it there too)
  const moves = kind == NK_GET || kind == NK_GETS;
  const expLen = expEnd - expStart;
  // a get of one key alone in its datagram may go to a copy of a replica set (cache/replicas.ts)
  let copySet: usize = NO_SET;
  let copyTo: u32 = NO_BACKEND;
  let copyHash: u64 = 0;
  for (let q = p; q < lineEnd;) {
    const te = tokenEnd(q, lineEnd);
    const len = te - q;
    if (FAULT == FAULT_PROCESS && isTrapKey(q, len)) unreachable();
    const h = keyHash(q, len);
    const f = detObserve(d, h, DETECTOR == DET_WEIGHTED ? servingCost(h) : 1);
    statInc(S_KEYS);
    if (hasExptime) expiryChanged(h, q, len, w + W_STAGED);
    if (kind == NK_GET && !barrierPending(h)) {
      const layer = lookup(h, q, len, f, isHot(d, f), w + W_LOOKUP);
      const hit = layer == LAYER_L1 || layer == LAYER_L2;
      if (
        hit &&
        replyFits(<usize>load<u32>(w + W_LOOKUP, D_LEN), keys == 1 && ends ? 5 : 0, workU32(W_ADDR), workU32(W_PORT))
      ) {
        statInc(layer == LAYER_L1 ? S_L1_HITS : S_L2_HITS);
        if (layer == LAYER_L2) statInc(S_L1_MISSES);
        statInc(S_CACHE_REPLIES);
        // A get of one key that hits is the hot path: its END rides in the same message, one
        // datagram where memcached 1.6 sends two. A client joins a request id's datagrams
        // either way.
        replyMessage(
          <usize>load<u32>(w + W_LOOKUP, D_OFF),
          <usize>load<u32>(w + W_LOOKUP, D_LEN),
          workU32(W_ADDR),
          workU32(W_PORT),
          ordered ? orderedId(workU32(W_ID), ++order) : workU32(W_ID),
          keys == 1 && ends ? "END\r\n" : "",
        );
        runBroken = true;
        if (keys == 1) return true;
        q = skipSpaces(te, lineEnd);
        continue;
      }
      statInc(S_L1_MISSES);
      statInc(S_L2_MISSES);
    } else if (
      kind == NK_GET &&
      keys == 1 &&
      inPlace &&
      isCached(h, q, len) &&
      parkRead(h, q, len, workU32(W_ADDR), workU32(W_PORT), workU32(W_ID))
    ) {
      // its write is in flight: the get waits for it rather than adding to its server's load
      return true;
    }
    const b = keyBackend(q, len);
    if (b == NO_BACKEND || b == ROUTE_DOWN) {
      if (b == NO_BACKEND) statInc(S_NO_BACKEND);
      // one error ends the get: the keys not answered are never reported as misses
      if ((workU32(W_FLAGS) & GF_ERRORED) == 0) serverError(b == NO_BACKEND ? FAIL_NO_BACKENDS : FAIL_DOWN);
      workFlag(<u32>GF_ERRORED);
    } else {
      // a key that moved in a live migration, among other keys or with others in its request:
      // it goes alone, so that a miss at its new owner can go on to its old one (a get of one
      // key alone in its request goes so below, in place)
      const old = moves ? movedFrom(q, len, b) : NO_OWNER;
      if (old != NO_OWNER && !(keys == 1 && inPlace)) {
        if (ordered) {
          order++;
          runBroken = true;
        }
        const place = ordered ? order : ORDER_NONE;
        // a gat's stamp comes after its own change of the expiry, which is no write of the value
        const since = hasExptime ? readStamp() : stamp;
        askMoved(kind, b, old, h, since, place, cmd, word, expStart, expLen, q, len);
        q = skipSpaces(te, lineEnd);
        continue;
      }
      if (keys == 1 && inPlace && kind == NK_GET) {
        const r = replicaConsider(h, q, len, f);
        if (r != NO_SET && replicaServer(r, 0) == b) {
          copySet = r;
          copyTo = replicaPick(r, b);
          copyHash = h;
        }
      }
      const m = misses + ((<usize>missCount) << 3);
      store<u32>(m, <u32>q);
      store<u16>(
        m + 4,
        <u16>(kind == NK_GET && !barrierPending(h) && fillWanted(h, q, len, b) ? len | WANTS_FILL : len),
      );
      store<u16>(m + 6, <u16>b);
      if (missCount != 0 && <u32>load<u16>(misses + 6) != b) oneBackend = false;
      if (placed) store<u16>(runs + ((<usize>missCount) << 1), <u16>++order);
      else if (ordered) {
        const more = len + 1;
        const last = missCount == 0 ? NO_BACKEND : <u32>load<u16>(m - 8 + 6);
        if (runBroken || last != b || runBytes + more > most) {
          order++;
          runBytes = head;
          runBroken = false;
        }
        runBytes += more;
        store<u16>(runs + ((<usize>missCount) << 1), <u16>order);
      }
      missCount++;
    }
    q = skipSpaces(te, lineEnd);
  }
  if (keys == 1 && ends) workFlag(<u32>GF_END); // it missed, so its END follows the backend's reply
  if (missCount == 0) return true;
  if (inPlace && oneBackend && missCount == keys && (!hasExptime || lineEnd + 2 - cmd <= TEXT_LINE_MAX)) {
    const b = <u32>load<u16>(misses + 6);
    if (copySet != NO_SET && copyTo != b) sendCopyGet(copySet, copyTo, stamp, copyHash);
    else {
      // a key that moved in a live migration: a miss at its new owner goes on to its old one
      const key = <usize>load<u32>(misses);
      const keyLen = <usize>(load<u16>(misses + 4) & ~WANTS_FILL);
      const old = keys == 1 && moves ? movedFrom(key, keyLen, b) : NO_OWNER;
      const since = old != NO_OWNER && hasExptime ? readStamp() : stamp;
      const id = newChild(kind, b, 0, since, old != NO_OWNER ? keyHash(key, keyLen) : 0);
      if (id != NAT_NONE) {
        if (old != NO_OWNER) fallbackOnGetMiss(id, old, cmd, word, expStart, expLen, key, keyLen);
        sendInPlace(id, b);
      }
    }
    if (copySet != NO_SET) replicaFill(copySet, b);
    requestFills(misses, missCount, b, stamp);
    return true;
  }
  for (let i: u32 = 0; i < missCount; i++) {
    const first = misses + ((<usize>i) << 3);
    const b = load<u16>(first + 6);
    if (b == DONE) continue;
    const run = ordered && !placed ? <u32>load<u16>(runs + ((<usize>i) << 1)) : ORDER_NONE;
    let bytes: usize = head;
    for (let j = i; j < missCount; j++) {
      const m = misses + ((<usize>j) << 3);
      if (run != ORDER_NONE ? <u32>load<u16>(runs + ((<usize>j) << 1)) != run : load<u16>(m + 6) != b) continue;
      const more = <usize>(load<u16>(m + 4) & ~WANTS_FILL) + 1;
      if (bytes + more > most) break;
      bytes += more;
      store<u16>(m + 6, TAKEN);
    }
    const payload = buildBegin(bytes);
    if (payload == 0) {
      statInc(S_DROP_OUT_FULL);
      return true;
    }
    let at = payload;
    memory.copy(at, cmd, word);
    at += word;
    if (hasExptime) {
      store<u8>(at++, 0x20);
      memory.copy(at, expStart, expEnd - expStart);
      at += expEnd - expStart;
    }
    const places = placesHead();
    let taken: u32 = 0;
    for (let j = i; j < missCount; j++) {
      const m = misses + ((<usize>j) << 3);
      if (load<u16>(m + 6) != TAKEN) continue;
      const len = <usize>(load<u16>(m + 4) & ~WANTS_FILL);
      store<u8>(at++, 0x20);
      memory.copy(at, <usize>load<u32>(m), len);
      if (placed) placesAdd(at, len, <u32>load<u16>(runs + ((<usize>j) << 1)));
      at += len;
      store<u16>(m + 6, DONE);
      taken++;
    }
    store<u16>(at, 0x0a0d); // "\r\n"
    at += 2;
    const id = newChild(kind, <u32>b, placed ? NF_PLACED : 0, stamp, 0, placed ? ORDER_LOST : run);
    if (id == NAT_NONE) continue;
    if (placed) {
      store<u32>(natEntry(id) + N_PLACES_AT, places);
      store<u16>(natEntry(id) + N_PLACES_LEFT, <u16>taken);
    }
    sendBuilt(id, <u32>b, payload, at - payload);
  }
  requestFills(misses, missCount, NO_BACKEND, stamp);
  return true;
}

// After the client's requests are on their way, kvlb's own asks for the values the caches want
// (the value a get's reply carries has no TTL, so it never fills: forward.ts, requestFill).
// `b` is the backend of every key when they all went in one request, else NO_BACKEND.
function requestFills(misses: usize, count: u32, b: u32, stamp: u64): void {
  for (let i: u32 = 0; i < count; i++) {
    const m = misses + ((<usize>i) << 3);
    const lenWord = load<u16>(m + 4);
    if ((lenWord & WANTS_FILL) == 0) continue;
    const key = <usize>load<u32>(m);
    const len = <usize>(lenWord & ~WANTS_FILL);
    const owner = b != NO_BACKEND ? b : keyBackend(key, len);
    if (owner >= <u32>MAX_BACKENDS) continue;
    requestFill(owner, keyHash(key, len), key, len, stamp);
  }
}

// memcached takes a signed decimal exptime.
export function exptimeValid(p: usize, end: usize): bool {
  let q = p;
  if (startsWith(q, end, "-")) q++;
  if (q == end || end - q > 10) return false;
  for (; q < end; q++) {
    const c = load<u8>(q);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}
