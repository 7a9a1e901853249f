// The backend table and the ketama ring, in the route region. The host writes each backend's
// address, port, weight and configured name, then calls set_backends(n); the core keeps the
// per-backend counters that /stats reports.
import { regionOffset } from "../layout/header";
import {
  R_ROUTE,
  MAX_BACKENDS,
  BACKEND_BYTES,
  B_ADDR,
  B_PORT,
  B_WEIGHT,
  B_NAME_LEN,
  B_NAME,
  B_REQUESTS,
  B_REPLIES,
  B_TIMEOUTS,
  B_OUTSTANDING,
  B_STATE,
  B_FAILS,
  B_ADMIT,
  B_ADAPT_MARK,
  B_CALM,
  B_PROBES,
  B_PROBE_WANTED,
  BK_UP,
  ROUTE_BACKENDS,
  ROUTE_RING,
  RT_COUNT,
  RT_POINTS,
  RT_ACTIVE,
  BK_RETIRED,
} from "../abi/abi";

const SCRATCH: usize = 64; // md5's 64-byte block
const DIGEST: usize = 384;
const TEXT: usize = 400; // a point's name: up to 64 + ":65535-" + digits

@inline export function routeBase(): usize {
  return regionOffset(R_ROUTE);
}
@inline export function routeScratch(): usize {
  return routeBase() + SCRATCH;
}
@inline export function routeDigest(): usize {
  return routeBase() + DIGEST;
}
@inline export function routeText(): usize {
  return routeBase() + TEXT;
}
@inline export function ringBase(): usize {
  return routeBase() + ROUTE_RING;
}
@inline export function ringPoints(): u32 {
  return load<u32>(routeBase() + RT_POINTS);
}
@inline export function setRingPoints(n: u32): void {
  store<u32>(routeBase() + RT_POINTS, n);
}
@inline export function backendCount(): u32 {
  return load<u32>(routeBase() + RT_COUNT);
}
@inline export function setBackendCount(n: u32): void {
  store<u32>(routeBase() + RT_COUNT, n);
}
// The backends on the ring: those not retired.
@inline export function activeBackends(): u32 {
  return load<u32>(routeBase() + RT_ACTIVE);
}
export function countActive(): void {
  const n = backendCount();
  let active: u32 = 0;
  for (let i: u32 = 0; i < n; i++) if (!backendRetired(i)) active++;
  store<u32>(routeBase() + RT_ACTIVE, active);
}
@inline export function backendRetired(i: u32): bool {
  return load<u32>(backend(i) + B_STATE) == BK_RETIRED;
}
@inline export function backend(i: u32): usize {
  return routeBase() + ROUTE_BACKENDS + <usize>i * BACKEND_BYTES;
}
@inline export function backendAddr(i: u32): u32 {
  return load<u32>(backend(i) + B_ADDR);
}
@inline export function backendPort(i: u32): u32 {
  return <u32>load<u16>(backend(i) + B_PORT);
}
@inline export function backendWeight(i: u32): u32 {
  const w = load<u32>(backend(i) + B_WEIGHT);
  return w == 0 ? 1 : w; // libmemcached treats weight 0 as 1
}
@inline export function backendNameLen(i: u32): usize {
  return <usize>load<u8>(backend(i) + B_NAME_LEN);
}
@inline export function backendNamePtr(i: u32): usize {
  return backend(i) + B_NAME;
}

// The backend a datagram came from, or 0xffffffff.
export function backendFrom(addr: u32, port: u32): u32 {
  const n = backendCount();
  for (let i: u32 = 0; i < n; i++) {
    const b = backend(i);
    if (load<u32>(b + B_ADDR) == addr && <u32>load<u16>(b + B_PORT) == port) return i;
  }
  return 0xffffffff;
}

@inline export function backendAdd(i: u32, field: usize, amount: u64): void {
  const p = backend(i) + field;
  store<u64>(p, load<u64>(p) + amount);
}

@inline export function backendSent(i: u32): void {
  backendAdd(i, B_REQUESTS, 1);
  const p = backend(i) + B_OUTSTANDING;
  store<u32>(p, load<u32>(p) + 1);
}

@inline export function backendDone(i: u32, timedOut: bool): void {
  backendAdd(i, timedOut ? B_TIMEOUTS : B_REPLIES, 1);
  const fails = backend(i) + B_FAILS;
  store<u32>(fails, timedOut ? load<u32>(fails) + 1 : 0);
  const p = backend(i) + B_OUTSTANDING;
  const o = load<u32>(p);
  if (o != 0) store<u32>(p, o - 1);
}

export function backendsValid(n: u32): bool {
  if (n > <u32>MAX_BACKENDS) return false;
  for (let i: u32 = 0; i < n; i++) {
    const len = backendNameLen(i);
    if (len == 0 || len > 64 || backendPort(i) == 0) return false;
  }
  return true;
}

// Zeroes the counters of entries [0, n) whose bit in `keep` is clear (all of them by default);
// those the host wrote as retired stay so.
export function backendsReset(n: u32, keep: u64 = 0): void {
  for (let i: u32 = 0; i < n; i++) {
    if (((keep >> (<u64>i)) & 1) != 0) continue;
    const b = backend(i);
    const retired = load<u32>(b + B_STATE) == BK_RETIRED;
    store<u64>(b + B_REQUESTS, 0);
    store<u64>(b + B_REPLIES, 0);
    store<u64>(b + B_TIMEOUTS, 0);
    store<u32>(b + B_OUTSTANDING, 0);
    store<u32>(b + B_STATE, retired ? BK_RETIRED : BK_UP);
    store<u32>(b + B_FAILS, 0);
    store<f64>(b + B_ADMIT, 1.0); // the adaptive hot set starts from the configured warm share
    store<u64>(b + B_ADAPT_MARK, 0);
    store<u32>(b + B_CALM, 0);
    store<u32>(b + B_PROBES, 0);
    store<u32>(b + B_PROBE_WANTED, 0);
  }
}

@inline export function backendUp(i: u32): bool {
  return load<u32>(backend(i) + B_STATE) == BK_UP;
}

export function setBackendState(i: u32, state: u32): void {
  store<u32>(backend(i) + B_STATE, state);
  store<u32>(backend(i) + B_FAILS, 0);
}

// The first backend that is up, or 0xffffffff: where kvlb sends a version.
export function firstUp(): u32 {
  const n = backendCount();
  for (let i: u32 = 0; i < n; i++) if (backendUp(i)) return i;
  return 0xffffffff;
}

// Whether addr is any backend's address, whatever the port.
export function backendAddress(addr: u32): bool {
  const n = backendCount();
  for (let i: u32 = 0; i < n; i++) if (load<u32>(backend(i) + B_ADDR) == addr) return true;
  return false;
}
