// The write barrier: what lets a read reply fill a cache safely even for a key no cache holds
// yet. Keys hash to buckets; each bucket records the version of its last write event and how
// many writes are in flight. A read stamps the global version when it is forwarded; its reply
// may fill only if no write has touched the bucket since and none is in flight. Two keys that
// share a bucket only cost each other a refused fill, never a stale one.
// A write that timed out may still be applied later, so its bucket is held: no read fills it
// until the hold ends, and none forwarded before the end either.
import { regionOffset, cfgU32, clock } from "../layout/header";
import { R_BARRIER, C_BARRIER_BUCKETS, HEADER_BASE, H_VERSION } from "../abi/abi";

const BUCKET: usize = 48;
const CHANGED: usize = 0; // u64, version of the last write begun or finished
const PENDING: usize = 8; // u32, writes in flight
const CONTENDED: usize = 12; // u32, 1 when writes overlapped since the bucket was last idle
const HOLD: usize = 16; // u64, clock until which no read may fill (0: none)
const FILLING: usize = 24; // u64, clock when kvlb last asked a backend for a value in this bucket
const COPYING: usize = 32; // u32, migration copies in flight (proxy/migrate.ts)
const MOVE_HOLD: usize = 40; // u64, clock until which no moved key's read falls back to its old owner

@inline function bucket(h: u64): usize {
  const mask = cfgU32(C_BARRIER_BUCKETS) - 1;
  return regionOffset(R_BARRIER) + <usize>((<u32>(h >> 32)) & mask) * BUCKET;
}

export function barrierBytes(buckets: u32): usize {
  return <usize>buckets * BUCKET;
}

export function barrierClear(): void {
  memory.fill(regionOffset(R_BARRIER), 0, barrierBytes(cfgU32(C_BARRIER_BUCKETS)));
}

// The version counter: every write gets the next one, so versions only grow and a stale reply
// can never match. It lives in the header, so a module swap carries it with the snapshot.
export function nextVersion(): u64 {
  const v = load<u64>(HEADER_BASE + H_VERSION) + 1;
  store<u64>(HEADER_BASE + H_VERSION, v);
  return v;
}

export function resetVersion(): void {
  store<u64>(HEADER_BASE + H_VERSION, 0);
}

// A snapshot's counter, restored.
export function restoreVersion(v: u64): void {
  store<u64>(HEADER_BASE + H_VERSION, v);
}

// The stamp a read carries: the newest version handed out so far.
@inline export function readStamp(): u64 {
  return load<u64>(HEADER_BASE + H_VERSION);
}

// A write is about to be forwarded; returns its version.
export function barrierBegin(h: u64): u64 {
  const b = bucket(h);
  const v = nextVersion();
  const pending = load<u32>(b + PENDING);
  if (pending != 0) store<u32>(b + CONTENDED, 1);
  store<u32>(b + PENDING, pending + 1);
  store<u64>(b + CHANGED, v);
  return v;
}

// The write finished (answered or timed out). Returns true when it ran alone, so that the
// value it wrote is known to be the backend's.
export function barrierEnd(h: u64): bool {
  const b = bucket(h);
  const pending = load<u32>(b + PENDING);
  const alone = load<u32>(b + CONTENDED) == 0;
  store<u64>(b + CHANGED, nextVersion());
  if (pending <= 1) {
    store<u32>(b + PENDING, 0);
    store<u32>(b + CONTENDED, 0);
  } else {
    store<u32>(b + PENDING, pending - 1);
  }
  return alone;
}

// The version of the bucket's last write event.
@inline export function barrierVersion(h: u64): u64 {
  return load<u64>(bucket(h) + CHANGED);
}

@inline export function barrierPending(h: u64): bool {
  return load<u32>(bucket(h) + PENDING) != 0;
}

// Whether kvlb may ask for a value of this bucket now: not when it asked less than `within` ago
// (the answer is on its way). Records the ask.
export function barrierFillStart(h: u64, within: u64): bool {
  const b = bucket(h);
  const now = clock();
  const last = load<u64>(b + FILLING);
  if (last != 0 && now - last < within && now >= last) return false;
  store<u64>(b + FILLING, now);
  return true;
}

// Whether an ask for a value of this bucket, begun less than `within` ago, is still on its way.
export function barrierFilling(h: u64, within: u64): bool {
  const last = load<u64>(bucket(h) + FILLING);
  const now = clock();
  return last != 0 && now >= last && now - last < within;
}

// The ask for a value of this bucket was answered, or given up: the next miss may ask again.
export function barrierFillDone(h: u64): void {
  store<u64>(bucket(h) + FILLING, 0);
}

// Holds the bucket of a write whose outcome is unknown until clock `until`.
export function barrierHold(h: u64, until: u64): void {
  const b = bucket(h);
  if (load<u64>(b + HOLD) < until) store<u64>(b + HOLD, until);
}

// A read forwarded at `stamp` may fill the caches now.
export function barrierAllows(h: u64, stamp: u64): bool {
  const b = bucket(h);
  if (load<u32>(b + PENDING) != 0) return false;
  const hold = load<u64>(b + HOLD);
  if (hold != 0) {
    if (clock() < hold) return false;
    // The hold is over: reads forwarded before now may have seen the value before the late
    // write, so only reads forwarded from here on may fill.
    store<u64>(b + HOLD, 0);
    store<u64>(b + CHANGED, nextVersion());
    return false;
  }
  return load<u64>(b + CHANGED) <= stamp;
}

// A live migration's copy of a key in this bucket to its new owner is in flight. A copy is an
// add, so a client's set always wins over it; a delete that reached the new owner before it would
// not, so none is sent while one is in flight (proxy/migrate.ts).
export function barrierCopyBegin(h: u64): void {
  const b = bucket(h);
  store<u32>(b + COPYING, load<u32>(b + COPYING) + 1);
}

export function barrierCopyEnd(h: u64): void {
  const b = bucket(h);
  const n = load<u32>(b + COPYING);
  if (n != 0) store<u32>(b + COPYING, n - 1);
}

@inline export function barrierCopying(h: u64): bool {
  return load<u32>(bucket(h) + COPYING) != 0;
}

// A live migration's delete of a key at its old owner went unanswered (or could not be sent):
// until clock `until`, the old owner may still hold a value a client's write replaced.
export function barrierMoveHold(h: u64, until: u64): void {
  const b = bucket(h);
  if (load<u64>(b + MOVE_HOLD) < until) store<u64>(b + MOVE_HOLD, until);
}

// Whether a moved key's read forwarded at `stamp` may go on to the key's old owner, and the value
// found there be copied to the new one (proxy/migrate.ts): no write of the bucket is in flight or
// began since, and no delete at an old owner is in doubt. A hold for a fill (barrierHold) does not
// matter here: a timed-out write's old copy is the migration's own delete's to remove, and a
// gat's change of the expiry leaves the value as it was.
export function barrierMoveAllows(h: u64, stamp: u64): bool {
  const b = bucket(h);
  return load<u32>(b + PENDING) == 0 && load<u64>(b + CHANGED) <= stamp && clock() >= load<u64>(b + MOVE_HOLD);
}
