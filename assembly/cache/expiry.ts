// Until when a cached copy is sound to serve, from what memcached says of the item's expiry.
// memcached's current_time is floor(monotonic seconds), set each time a 1 s timer fires; the
// timer is re-armed when it fires, so its periods run long and now and then one period steps
// the clock by two seconds. An item given t seconds when current_time read c is gone from the
// firing that reads c + t, which can come as early as t - 2 seconds, less the timer's lateness,
// after the request left. kvlb serves a copy until (the time its request left) + t - 2 seconds
// - SLACK, never later; t <= 2 is not cached at all.
import { clock } from "../layout/header";
import { startsWith } from "../protocol/text";

// A cached copy's expiry, in the core's clock (ns): never.
export const EXPIRY_NEVER: u64 = 0xffffffffffffffff;

const SECOND: u64 = 1000000000;
// How late memcached's clock timer may fire, per period, and still be covered.
const SLACK: u64 = 250000000;
// memcached reads an exptime above 30 days as a Unix time, which kvlb's clock cannot place.
const RELATIVE_MAX: i64 = 60 * 60 * 24 * 30;

export const NOT_CACHEABLE: u64 = 0;

// The expiry of a copy whose item was given `ttl` seconds by a request sent at `sentAt`
// (ttl -1: no expiry). NOT_CACHEABLE when the item may already be gone.
export function expiryAfter(sentAt: u64, ttl: i64): u64 {
  if (ttl == -1) return EXPIRY_NEVER;
  if (ttl <= 2 || ttl > RELATIVE_MAX) return NOT_CACHEABLE;
  return sentAt + <u64>(ttl - 2) * SECOND - SLACK;
}

// The expiry of a value a storage command with exptime [p, end) writes, sent now.
export function expiryOfExptime(p: usize, end: usize): u64 {
  const negative = startsWith(p, end, "-");
  let v: i64 = 0;
  for (let q = negative ? p + 1 : p; q < end; q++) {
    const c = load<u8>(q);
    if (c < 0x30 || c > 0x39 || v > RELATIVE_MAX) return NOT_CACHEABLE;
    v = v * 10 + <i64>(c - 0x30);
  }
  if (negative) return v == 0 ? EXPIRY_NEVER : NOT_CACHEABLE;
  return v == 0 ? EXPIRY_NEVER : expiryAfter(clock(), v);
}
