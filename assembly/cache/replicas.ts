// Hot-key replica sets. A key that alone carries a large share of the load gets copies on the
// next distinct servers of the ketama ring, so that its reads spread over several backends. A
// copy lives on its server under a name of kvlb's own (OWN_KEY_MARK, this worker's letter, the
// key), which no client can name: a client never reads a copy as its key, and failover, which
// sends a key to the next server on the ring, never finds one.
//
// Copies are never read or written by clients. A write goes to the key's own server through the
// write barrier as any other, and the barrier is what retires the copies: a copy is served only
// while the key's bucket has seen no write, no purge and no hold since the version the copy was
// read at (RP_STAMP), and before the item's expiry bound. After a write, kvlb reads the value
// again from the key's own server (mg) and writes the copies anew (ms); until then reads go to
// the key's own server. So no read that begins after a write was acknowledged sees a copy of
// the value before it.
import { regionOffset, cfgU32, clock, statInc, requestTimeout } from "../layout/header";
import { detEstimate } from "../detect/detector";
import { trackedTotal } from "../detect/table";
import { detector } from "../layout/regions";
import { barrierAllows, barrierVersion } from "./barrier";
import { afterPurge } from "./purge";
import { ringBase, ringPoints, activeBackends, backendUp, backend } from "../route/backends";
import { pointIndex, ringHash } from "../route/ketama";
import { OWN_KEY_MARK, OWN_KEY_MARK_BYTES } from "../protocol/keys";
import {
  R_REPLICAS,
  C_REPLICA_KEYS,
  C_WORKER,
  RPC_COUNT,
  RPC_BYTES,
  RP_BYTES,
  RP_HASH,
  RP_STAMP,
  RP_UNTIL,
  RP_FILL_AT,
  RP_HOLD,
  RP_STATE,
  RP_COUNT,
  RP_VALID,
  RP_WRITING,
  RP_OK,
  RP_NEXT,
  RP_KEY_LEN,
  RP_SERVERS,
  RP_KEY,
  RP_FILL_UNTIL,
  RP_FAN_VERSION,
  RP_FAN_UNTIL,
  RP_FAN_STAMP,
  RP_FAN_LEFT,
  RP_FAN_OK,
  RP_FAN_HOME,
  MAX_REPLICAS,
  MAX_KEY,
  B_OUTSTANDING,
  S_REPLICA_SETS,
  S_REPLICA_DROPS,
} from "../abi/abi";

export const NO_SET: usize = 0;

// RP_STATE: a set is live, or retiring: its key cooled, its copies are no longer read, and it
// stays until the gets already sent to a copy have had their time (a miss there needs the key).
const FREE: u8 = 0;
const LIVE: u8 = 1;
const RETIRING: u8 = 2;

// A key gets a set once it carries this share of one backend's mean load, and loses it below
// half of that; the set has as many servers as keep each one's part of the key under the share.
const ENTER: f64 = 0.25;
const LEAVE: f64 = 0.125;
// The mark and the worker's letter before the key.
export const COPY_PREFIX: usize = OWN_KEY_MARK_BYTES + 1;

export function replicaBytes(keys: u32): usize {
  return <usize>RPC_BYTES + <usize>keys * <usize>RP_BYTES;
}

@inline function capacity(): u32 {
  return cfgU32(C_REPLICA_KEYS);
}

@inline function entry(i: u32): usize {
  return regionOffset(R_REPLICAS) + RPC_BYTES + <usize>i * RP_BYTES;
}

export function replicaClear(): void {
  memory.fill(regionOffset(R_REPLICAS), 0, replicaBytes(capacity()));
}

// The set of key hash h, or NO_SET.
export function replicaFind(h: u64): usize {
  const n = capacity();
  if (n == 0) return NO_SET;
  const mask = n - 1;
  let i = (<u32>h) & mask;
  for (let probes: u32 = 0; probes < n; probes++) {
    const e = entry(i);
    if (load<u8>(e + RP_STATE) == FREE) return NO_SET;
    if (load<u64>(e + RP_HASH) == h) return e;
    i = (i + 1) & mask;
  }
  return NO_SET;
}

// How many servers a key with `share` of all requests needs, its own included (1: none).
function serversFor(share: f64): u32 {
  const n = activeBackends();
  const perBackend = share * <f64>n; // the key's load in units of a backend's mean load
  if (perBackend < ENTER) return 1;
  return min(min(<u32>Math.ceil(perBackend / ENTER), n), <u32>MAX_REPLICAS);
}

// Fills RP_SERVERS with the key's own server and the next distinct ones on the ring.
function placeServers(e: usize, hash32: u32, want: u32): u32 {
  const points = ringPoints();
  const ring = ringBase();
  let at = pointIndex(hash32);
  let count: u32 = 0;
  for (let i: u32 = 0; i < points && count < want; i++) {
    const b = <u8>load<u64>(ring + ((<usize>at) << 3));
    let seen = false;
    for (let j: u32 = 0; j < count; j++) if (load<u8>(e + RP_SERVERS + <usize>j) == b) seen = true;
    if (!seen) {
      store<u8>(e + RP_SERVERS + <usize>count, b);
      count++;
    }
    at = at + 1 == points ? 0 : at + 1;
  }
  return count;
}

// A read of key [key, key + len) with hash h and detector estimate `estimate`: makes its set when the key has earned one and
// there is room. Returns the set or NO_SET.
export function replicaConsider(h: u64, key: usize, len: usize, estimate: u64): usize {
  const e = replicaFind(h);
  if (e != NO_SET) return e;
  const n = capacity();
  if (n == 0 || len + COPY_PREFIX > <usize>MAX_KEY || activeBackends() < 2) return NO_SET;
  const want = serversFor(shareOfEstimate(estimate));
  if (want < 2) return NO_SET;
  const base = regionOffset(R_REPLICAS);
  const used = load<u32>(base + RPC_COUNT);
  if (used >= n - (n >> 2)) return NO_SET; // three quarters full: probes stay short
  const mask = n - 1;
  let i = (<u32>h) & mask;
  while (load<u8>(entry(i) + RP_STATE) != FREE) i = (i + 1) & mask;
  const f = entry(i);
  memory.fill(f, 0, RP_BYTES);
  const count = placeServers(f, ringHash(key, len), want);
  if (count < 2) return NO_SET;
  store<u64>(f + RP_HASH, h);
  store<u8>(f + RP_STATE, LIVE);
  store<u8>(f + RP_COUNT, <u8>count);
  store<u16>(f + RP_KEY_LEN, <u16>len);
  memory.copy(f + RP_KEY, key, len);
  store<u32>(base + RPC_COUNT, used + 1);
  statInc(S_REPLICA_SETS);
  return f;
}

// Whether the set's copies may be served now.
export function replicaCurrent(e: usize): bool {
  if (load<u8>(e + RP_VALID) == 0 || load<u8>(e + RP_STATE) != LIVE) return false;
  const stamp = load<u64>(e + RP_STAMP);
  if (clock() >= load<u64>(e + RP_UNTIL) || !afterPurge(stamp) || !barrierAllows(load<u64>(e + RP_HASH), stamp)) {
    store<u8>(e + RP_VALID, 0);
    return false;
  }
  return true;
}

// The server a get of the set's key goes to: of its own server (`own`, which must be up) and the
// servers whose copies are current and up, the one with the fewest requests outstanding, ties
// taken in turn.
export function replicaPick(e: usize, own: u32): u32 {
  if (!replicaCurrent(e)) return own;
  const valid = (<u32>load<u8>(e + RP_VALID)) | 1;
  const count = <u32>load<u8>(e + RP_COUNT);
  const start = <u32>load<u8>(e + RP_NEXT) % count;
  let best = own;
  let bestLoad: u32 = 0xffffffff;
  for (let k: u32 = 0; k < count; k++) {
    const i = (start + k) % count;
    if ((valid & (1 << i)) == 0) continue;
    const b = i == 0 ? own : <u32>load<u8>(e + RP_SERVERS + <usize>i);
    if (!backendUp(b)) continue;
    const o = load<u32>(backend(b) + B_OUTSTANDING);
    if (o < bestLoad) {
      best = b;
      bestLoad = o;
    }
  }
  store<u8>(e + RP_NEXT, <u8>((start + 1) % count));
  return best;
}

// Whether a fill should begin now: the set is live, its copies are not current, no fill is in
// flight (one older than `stale` was lost with its NAT entries) and no hold.
export function replicaFillDue(e: usize, stale: u64): bool {
  if (load<u8>(e + RP_STATE) != LIVE || load<u64>(e + RP_FAN_VERSION) != 0 || replicaCurrent(e)) return false;
  const at = load<u64>(e + RP_FILL_AT);
  const now = clock();
  if (at != 0 && now - at < stale) return false;
  return now >= load<u64>(e + RP_HOLD);
}

// Writes the copy's name (mark, worker letter, key) at dst; returns its length.
export function copyName(e: usize, dst: usize): usize {
  const len = <usize>load<u16>(e + RP_KEY_LEN);
  store<u8>(dst, <u8>OWN_KEY_MARK);
  store<u8>(dst + 1, <u8>(OWN_KEY_MARK >> 8));
  store<u8>(dst + 2, <u8>(OWN_KEY_MARK >> 16));
  store<u8>(dst + OWN_KEY_MARK_BYTES, <u8>(0x30 + (cfgU32(C_WORKER) & 0x3f)));
  memory.copy(dst + COPY_PREFIX, e + RP_KEY, len);
  return len + COPY_PREFIX;
}

@inline export function replicaHash(e: usize): u64 {
  return load<u64>(e + RP_HASH);
}

@inline export function replicaKey(e: usize): usize {
  return e + RP_KEY;
}

@inline export function replicaKeyLen(e: usize): usize {
  return <usize>load<u16>(e + RP_KEY_LEN);
}

@inline export function replicaCount(e: usize): u32 {
  return <u32>load<u8>(e + RP_COUNT);
}

@inline export function replicaServer(e: usize, i: u32): u32 {
  return <u32>load<u8>(e + RP_SERVERS + <usize>i);
}

// The member index of backend b in the set, or MAX_REPLICAS.
export function memberOf(e: usize, b: u32): u32 {
  const count = replicaCount(e);
  for (let i: u32 = 1; i < count; i++) if (replicaServer(e, i) == b) return i;
  return <u32>MAX_REPLICAS;
}

// A server answered a get of its copy with a miss (evicted, expired, restarted): its copy is
// not served until the next fill writes it.
export function replicaMissed(e: usize, b: u32): void {
  const i = memberOf(e, b);
  if (i < <u32>MAX_REPLICAS) store<u8>(e + RP_VALID, <u8>((<u32>load<u8>(e + RP_VALID)) & ~(1 << i)));
}

// A key's share of all requests, from the detector's estimate f of it.
function shareOfEstimate(f: u64): f64 {
  const total = trackedTotal(detector());
  return total == 0 ? 0.0 : <f64>f / <f64>total;
}

function shareOf(h: u64): f64 {
  return shareOfEstimate(detEstimate(detector(), h));
}

// Retires the sets whose keys cooled below LEAVE, and frees the ones retired more than two
// request timeouts ago. A set with a fill in flight waits for it.
export function replicaCool(): void {
  const linger = 2 * requestTimeout();
  const n = capacity();
  const mask = n - 1;
  const backends = <f64>activeBackends();
  const now = clock();
  for (let i: u32 = 0; i < n;) {
    const e = entry(i);
    const state = load<u8>(e + RP_STATE);
    if (state == LIVE && load<u64>(e + RP_FILL_AT) == 0 && shareOf(load<u64>(e + RP_HASH)) * backends < LEAVE) {
      store<u8>(e + RP_STATE, RETIRING);
      store<u8>(e + RP_VALID, 0);
      store<u64>(e + RP_HOLD, now + linger);
      statInc(S_REPLICA_DROPS);
    } else if (state == RETIRING && now >= load<u64>(e + RP_HOLD)) {
      remove(i, mask);
      continue; // the entry that moved into slot i is looked at next
    }
    i++;
  }
}

// Backward-shift deletion: the entries after i that probed past it move back, so no lookup
// stops early at the hole.
function remove(i: u32, mask: u32): void {
  const base = regionOffset(R_REPLICAS);
  store<u32>(base + RPC_COUNT, load<u32>(base + RPC_COUNT) - 1);
  let hole = i;
  let j = (i + 1) & mask;
  while (load<u8>(entry(j) + RP_STATE) != FREE) {
    const home = (<u32>load<u64>(entry(j) + RP_HASH)) & mask;
    // j's entry may fill the hole when its home is not in (hole, j]
    const between = hole <= j ? home > hole && home <= j : home > hole || home <= j;
    if (!between) {
      memory.copy(entry(hole), entry(j), RP_BYTES);
      hole = j;
    }
    j = (j + 1) & mask;
  }
  store<u8>(entry(hole) + RP_STATE, FREE);
}

// Fill bookkeeping, for proxy/replica-fill.ts.
export function fillBegan(e: usize): void {
  store<u64>(e + RP_FILL_AT, clock());
}

// The fill found nothing it can copy: none begins for `hold`.
export function fillRefused(e: usize, hold: u64): void {
  store<u64>(e + RP_HOLD, clock() + hold);
  fillEnded(e);
}

export function fillEnded(e: usize): void {
  store<u64>(e + RP_FILL_AT, 0);
  store<u8>(e + RP_WRITING, 0);
  store<u8>(e + RP_OK, 0);
}

export function copiesSent(e: usize, n: u32, until: u64): void {
  store<u8>(e + RP_WRITING, <u8>n);
  store<u8>(e + RP_OK, 0);
  store<u64>(e + RP_FILL_UNTIL, until);
}

// A copy's write to server b was answered (`stored`: HD, marked in the mask at e + field) or
// given up (`lost`: its outcome is unknown, so no fill or fan-out begins until a late write can
// no longer land after a newer one).
function copyIn(e: usize, field: usize, b: u32, stored: bool, lost: bool): void {
  const i = memberOf(e, b);
  if (stored && i < <u32>MAX_REPLICAS) store<u8>(e + field, <u8>((<u32>load<u8>(e + field)) | (1 << i)));
  if (lost) store<u64>(e + RP_HOLD, clock() + 2 * requestTimeout());
}

// The copies in `ok` hold the value of version `stamp`: current until `until`, unless a write,
// hold or purge touched the key's bucket since.
function makeCurrent(e: usize, stamp: u64, until: u64, ok: u8): void {
  if (ok == 0 || !afterPurge(stamp) || !barrierAllows(load<u64>(e + RP_HASH), stamp)) return;
  store<u64>(e + RP_STAMP, stamp);
  store<u64>(e + RP_UNTIL, until);
  store<u8>(e + RP_VALID, ok);
}

// A fill's copy to server b is in; once the last one is, the copies that stored it are current.
export function copyAnswered(e: usize, b: u32, stored: bool, lost: bool, stamp: u64): void {
  copyIn(e, RP_OK, b, stored, lost);
  const left = load<u8>(e + RP_WRITING);
  if (left > 1) {
    store<u8>(e + RP_WRITING, left - 1);
    return;
  }
  makeCurrent(e, stamp, load<u64>(e + RP_FILL_UNTIL), load<u8>(e + RP_OK));
  fillEnded(e);
}

// A client's set may carry its value to the copies too (a fan-out) when the set is live, no
// other fan-out or fill is writing the copies, and no copy's write went unanswered lately: then
// no older write can land on a copy after this one.
export function fanAllowed(e: usize): bool {
  return (
    load<u8>(e + RP_STATE) == LIVE &&
    load<u64>(e + RP_FAN_VERSION) == 0 &&
    load<u8>(e + RP_WRITING) == 0 &&
    clock() >= load<u64>(e + RP_HOLD)
  );
}

// The set of version v sends its value to n copies, servable until `until` once all is in.
export function fanBegan(e: usize, v: u64, n: u32, until: u64): void {
  store<u64>(e + RP_FAN_VERSION, v);
  store<u64>(e + RP_FAN_UNTIL, until);
  store<u8>(e + RP_FAN_LEFT, <u8>n);
  store<u8>(e + RP_FAN_OK, 0);
  store<u8>(e + RP_FAN_HOME, 0);
}

// The key's own server answered the set of version v (`kept`: stored, and alone in its bucket),
// or it timed out.
export function fanHomeDone(e: usize, v: u64, kept: bool): void {
  if (load<u64>(e + RP_FAN_VERSION) != v) return;
  store<u8>(e + RP_FAN_HOME, kept ? 1 : 2);
  store<u64>(e + RP_FAN_STAMP, barrierVersion(load<u64>(e + RP_HASH)));
  if (load<u8>(e + RP_FAN_LEFT) == 0) fanFinish(e);
}

// A copy's write of the fan-out of version v to server b is in.
export function fanCopyDone(e: usize, v: u64, b: u32, stored: bool, lost: bool): void {
  if (load<u64>(e + RP_FAN_VERSION) != v) return;
  copyIn(e, RP_FAN_OK, b, stored, lost);
  const left = load<u8>(e + RP_FAN_LEFT);
  store<u8>(e + RP_FAN_LEFT, left > 0 ? left - 1 : 0);
  if (left <= 1 && load<u8>(e + RP_FAN_HOME) != 0) fanFinish(e);
}

// Every part of the fan-out is in: the copies that stored the value are current if the key's own
// server stored it alone and nothing touched the key's bucket since.
function fanFinish(e: usize): void {
  if (load<u8>(e + RP_FAN_HOME) == 1 && clock() >= load<u64>(e + RP_HOLD)) {
    makeCurrent(e, load<u64>(e + RP_FAN_STAMP), load<u64>(e + RP_FAN_UNTIL), load<u8>(e + RP_FAN_OK));
  }
  store<u64>(e + RP_FAN_VERSION, 0);
}
