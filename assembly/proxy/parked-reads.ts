// Gets held back while a write of their key is in flight. Until the write is answered, the
// cached copy is PENDING and a read must go to the key's own server: so every read of a hot key
// that is written often lands on the one backend already busy with the write, and a capped
// server can hold a write for a long time. A get of one cached key, alone in its datagram, waits
// here instead. Once the key's bucket has no write in flight, it is answered from the cache (a
// set staged its value there). When the copy is gone (the write failed, or overlapped another),
// the waiting gets of the key do not all go to its server: one ask of kvlb's own (mg) fetches the
// value for the cache, and they wait for it too; only if that brings nothing are they sent on,
// each to the key's server as before.
//
// Nothing is served while the write is in flight, and a read that began before the write was
// acknowledged may return either value: this stays linearizable. A wait is bounded by the
// request timeout, after which the get goes to the key's server as it would have without
// parking; a full table sends it on at once.
import { regionOffset, clock, statInc, requestTimeout } from "../layout/header";
import { barrierPending, barrierFilling, readStamp } from "../cache/barrier";
import { lookup } from "../cache/layers";
import { fillWanted } from "../cache/proxy-writes";
import { detEstimate } from "../detect/detector";
import { isHot } from "../detect/table";
import { detector } from "../layout/regions";
import { ROUTE_DOWN } from "../route/ketama";
import { replyMessage, replyText, replyFits } from "../io/out-ring";
import { work, W_LOOKUP } from "./context";
import { keyBackend, sendGetFor, requestFill, NO_BACKEND } from "./forward";
import { failLine, FAIL_NO_BACKENDS, FAIL_DOWN } from "./failures";
import { isStreamClient, streamHold, streamRelease } from "./stream-refs";
import {
  R_PARKED,
  PARKED_READS,
  PKC_COUNT,
  PKC_BYTES,
  PK_BYTES,
  PK_HASH,
  PK_AT,
  PK_ADDR,
  PK_PORT,
  PK_ID,
  PK_KEY_LEN,
  PK_ASKED,
  PK_KEY,
  LAYER_L1,
  LAYER_L2,
  D_OFF,
  D_LEN,
  S_READS_PARKED,
  S_PARKED_FROM_CACHE,
  S_L1_HITS,
  S_L2_HITS,
  S_L1_MISSES,
  S_L2_MISSES,
  S_CACHE_REPLIES,
  S_NO_BACKEND,
  S_SERVER_ERRORS,
  MAX_BACKENDS,
} from "../abi/abi";

@inline function control(): usize {
  return regionOffset(R_PARKED);
}

@inline function entry(i: u32): usize {
  return control() + <usize>PKC_BYTES + <usize>i * <usize>PK_BYTES;
}

export function parkedClear(): void {
  memory.fill(control(), 0, <usize>PKC_BYTES + <usize>PARKED_READS * <usize>PK_BYTES);
}

export function parkedCount(): u32 {
  return load<u32>(control() + PKC_COUNT);
}

// Parks a get of key (hash h) for client addr:port, request id; false when the table is full.
export function parkRead(h: u64, key: usize, keyLen: usize, addr: u32, port: u32, id: u32): bool {
  const c = control();
  const n = load<u32>(c + PKC_COUNT);
  if (n >= <u32>PARKED_READS) return false;
  for (let i: u32 = 0; i < <u32>PARKED_READS; i++) {
    const e = entry(i);
    if (load<u16>(e + PK_KEY_LEN) != 0) continue;
    store<u64>(e + PK_HASH, h);
    store<u64>(e + PK_AT, clock());
    store<u32>(e + PK_ADDR, addr);
    store<u16>(e + PK_PORT, <u16>port);
    store<u16>(e + PK_ID, <u16>id);
    store<u16>(e + PK_KEY_LEN, <u16>keyLen);
    store<u8>(e + PK_ASKED, 0);
    memory.copy(e + PK_KEY, key, keyLen);
    store<u32>(c + PKC_COUNT, n + 1);
    if (isStreamClient(addr, port)) streamHold(addr, id);
    statInc(S_READS_PARKED);
    return true;
  }
  return false;
}

// After each burst and tick: the gets whose write is over, or who waited a request timeout.
export function wakeParked(): void {
  const c = control();
  let left = load<u32>(c + PKC_COUNT);
  if (left == 0) return;
  const now = clock();
  const timeout = requestTimeout();
  for (let i: u32 = 0; i < <u32>PARKED_READS && left != 0; i++) {
    const e = entry(i);
    if (load<u16>(e + PK_KEY_LEN) == 0) continue;
    left--;
    const at = load<u64>(e + PK_AT);
    const waited = now < at || now - at >= timeout;
    if (!waited && barrierPending(load<u64>(e + PK_HASH))) continue;
    if (!wake(e, waited)) continue;
    store<u16>(e + PK_KEY_LEN, 0);
    store<u32>(c + PKC_COUNT, load<u32>(c + PKC_COUNT) - 1);
    const addr = load<u32>(e + PK_ADDR);
    const port = <u32>load<u16>(e + PK_PORT);
    if (isStreamClient(addr, port)) streamRelease(addr, <u32>load<u16>(e + PK_ID));
  }
}

// Answers a get whose write is over, or that waited its time (`waited`); false when it waits on
// for the value kvlb asked for.
function wake(e: usize, waited: bool): bool {
  const h = load<u64>(e + PK_HASH);
  const key = e + PK_KEY;
  const keyLen = <usize>load<u16>(e + PK_KEY_LEN);
  const addr = load<u32>(e + PK_ADDR);
  const port = <u32>load<u16>(e + PK_PORT);
  const id = <u32>load<u16>(e + PK_ID);
  const pending = barrierPending(h);
  if (!pending) {
    const d = detector();
    const f = detEstimate(d, h);
    const out = work() + W_LOOKUP;
    const layer = lookup(h, key, keyLen, f, isHot(d, f), out);
    const hit = layer == LAYER_L1 || layer == LAYER_L2;
    if (hit && replyFits(<usize>load<u32>(out, D_LEN), 5, addr, port)) {
      statInc(layer == LAYER_L1 ? S_L1_HITS : S_L2_HITS);
      if (layer == LAYER_L2) statInc(S_L1_MISSES);
      statInc(S_CACHE_REPLIES);
      statInc(S_PARKED_FROM_CACHE);
      replyMessage(<usize>load<u32>(out, D_OFF), <usize>load<u32>(out, D_LEN), addr, port, id, "END\r\n");
      return true;
    }
  }
  const b = keyBackend(key, keyLen);
  // one ask serves every get of the key that waits; once one came back empty, they go on
  if (!pending && !waited && b < <u32>MAX_BACKENDS) {
    const asked = load<u8>(e + PK_ASKED) != 0;
    store<u8>(e + PK_ASKED, 1);
    if (barrierFilling(h, requestTimeout())) return false;
    if (!asked && fillWanted(h, key, keyLen, b) && requestFill(b, h, key, keyLen, readStamp())) return false;
  }
  statInc(S_L1_MISSES);
  statInc(S_L2_MISSES);
  if (b == NO_BACKEND || b == ROUTE_DOWN) {
    if (b == NO_BACKEND) statInc(S_NO_BACKEND);
    statInc(S_SERVER_ERRORS);
    replyText(failLine(b == NO_BACKEND ? FAIL_NO_BACKENDS : FAIL_DOWN), addr, port, id);
    return true;
  }
  sendGetFor(b, h, readStamp(), key, keyLen, addr, port, id);
  return true;
}
