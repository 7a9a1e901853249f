// Ketama exactly as libmemcached builds it with MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED
// (docs/ketama.md): each server gets floor(pct * 160/4 * n) * 4 points in 32-bit float
// arithmetic, the points come from MD5("host-N") or MD5("host:port-N"), four per digest, and a
// key goes to the first point at or after the first four bytes of its own MD5.
//
// The ring is an array of u64 (value << 32 | server index): sorting it as integers orders it by
// (value, server), as libmemcached's comparison does.
import { writeDecimal } from "../protocol/text";
import { md5 } from "./md5";
import { statInc } from "../layout/header";
import { S_FAILOVERS } from "../abi/abi";
import {
  backendCount,
  backendWeight,
  backendNamePtr,
  backendNameLen,
  backendPort,
  routeScratch,
  routeDigest,
  routeText,
  ringBase,
  setRingPoints,
  ringPoints,
  backendUp,
  backendRetired,
  activeBackends,
} from "./backends";

const POINTS_PER_SERVER: f32 = 160.0;

function pointsFor(weight: u32, total: u64, servers: u32): u32 {
  const pct: f32 = <f32>weight / <f32>total;
  const scaled: f32 = ((pct * POINTS_PER_SERVER) / 4.0) * <f32>servers;
  // libmemcached adds 1e-10 in double precision and floors in single precision
  const nudged = <f32>(<f64>scaled + 0.0000000001);
  return <u32>Mathf.floor(nudged) * 4;
}

// Writes "host-N" or "host:port-N" at `at`; returns its length.
function pointName(server: u32, n: u32, at: usize): usize {
  const nameLen = backendNameLen(server);
  memory.copy(at, backendNamePtr(server), nameLen);
  let p = at + nameLen;
  const port = backendPort(server);
  if (port != 11211) {
    store<u8>(p++, 0x3a); // ':'
    p = writeDecimal(p, port);
  }
  store<u8>(p++, 0x2d); // '-'
  p = writeDecimal(p, n);
  return p - at;
}

// Rebuilds the ring from the backend table's entries that are not retired, as libmemcached builds
// it from a list of just those; returns the number of points.
export function ketamaBuild(): u32 {
  const entries = backendCount();
  const servers = activeBackends();
  let total: u64 = 0;
  for (let s: u32 = 0; s < entries; s++) if (!backendRetired(s)) total += <u64>backendWeight(s);
  const ring = ringBase();
  let count: u32 = 0;
  const text = routeText();
  const digest = routeDigest();
  for (let s: u32 = 0; s < entries; s++) {
    if (backendRetired(s)) continue;
    const points: u32 = pointsFor(backendWeight(s), total, servers);
    for (let n: u32 = 0; n < points / 4; n++) {
      md5(text, pointName(s, n, text), digest, routeScratch());
      for (let a: u32 = 0; a < 4; a++) {
        const value = <u64>load<u32>(digest + ((<usize>a) << 2));
        store<u64>(ring + ((<usize>count) << 3), (value << 32) | (<u64>s));
        count++;
      }
    }
  }
  heapSort(ring, count);
  setRingPoints(count);
  return count;
}

// The backend for a key: the only one when there is one server, and 0xffffffff when there are none.
export function ketamaRoute(key: usize, keyLen: usize): u32 {
  const count = ringPoints();
  if (count == 0) return 0xffffffff;
  if (activeBackends() == 1) return <u32>load<u64>(ringBase());
  const digest = routeDigest();
  md5(key, keyLen, digest, routeScratch());
  return ketamaPoint(load<u32>(digest));
}

// A key's place on the ring: the little-endian u32 of its MD5's first four bytes.
export function ringHash(key: usize, keyLen: usize): u32 {
  const digest = routeDigest();
  md5(key, keyLen, digest, routeScratch());
  return load<u32>(digest);
}

// The first point whose value is >= hash, wrapping past the end.
export function pointIndex(hash: u32): u32 {
  return ringIndex(ringBase(), ringPoints(), hash);
}

// The first of `count` points at `ring` whose value is >= hash, wrapping past the end.
export function ringIndex(ring: usize, count: u32, hash: u32): u32 {
  let lo: u32 = 0;
  let hi: u32 = count;
  while (lo < hi) {
    const mid = lo + ((hi - lo) >> 1);
    if (<u32>(load<u64>(ring + ((<usize>mid) << 3)) >> 32) < hash) lo = mid + 1;
    else hi = mid;
  }
  return lo == count ? 0 : lo;
}

// The server of the first point whose value is >= hash, wrapping past the end.
export function ketamaPoint(hash: u32): u32 {
  return <u32>load<u64>(ringBase() + ((<usize>pointIndex(hash)) << 3));
}

export const ROUTE_DOWN: u32 = 0xfffffffe;

// The server a key goes to now: its own while it is up; while it is down, with failover, the
// server of the next point on the ring that is up (the ring itself is not rebuilt, so no other
// key moves), else ROUTE_DOWN. 0xffffffff with no backends.
export function routeUp(key: usize, keyLen: usize, failover: bool): u32 {
  const count = ringPoints();
  if (count == 0) return 0xffffffff;
  const digest = routeDigest();
  md5(key, keyLen, digest, routeScratch());
  const ring = ringBase();
  let at = pointIndex(load<u32>(digest));
  const owner = <u32>load<u64>(ring + ((<usize>at) << 3));
  if (backendUp(owner)) return owner;
  if (!failover) return ROUTE_DOWN;
  for (let i: u32 = 1; i < count; i++) {
    at = at + 1 == count ? 0 : at + 1;
    const b = <u32>load<u64>(ring + ((<usize>at) << 3));
    if (backendUp(b)) {
      statInc(S_FAILOVERS);
      return b;
    }
  }
  return ROUTE_DOWN;
}

function heapSort(base: usize, n: u32): void {
  if (n < 2) return;
  for (let i = (n >> 1) - 1; ; i--) {
    siftDown(base, i, n);
    if (i == 0) break;
  }
  for (let end = n - 1; end > 0; end--) {
    const top = load<u64>(base);
    store<u64>(base, load<u64>(base + ((<usize>end) << 3)));
    store<u64>(base + ((<usize>end) << 3), top);
    siftDown(base, 0, end);
  }
}

function siftDown(base: usize, start: u32, n: u32): void {
  let root = start;
  while (true) {
    let child: u32 = 2 * root + 1;
    if (child >= n) return;
    let cv = load<u64>(base + ((<usize>child) << 3));
    if (child + 1 < n) {
      const rv = load<u64>(base + ((<usize>(child + 1)) << 3));
      if (rv > cv) {
        child++;
        cv = rv;
      }
    }
    const rootv = load<u64>(base + ((<usize>root) << 3));
    if (rootv >= cv) return;
    store<u64>(base + ((<usize>root) << 3), cv);
    store<u64>(base + ((<usize>child) << 3), rootv);
    root = child;
  }
}
