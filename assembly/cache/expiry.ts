// Until when a cached copy is sound to serve, from what memcached says of the item's expiry.
// memcached keeps time in whole seconds and its clock lags the real one by up to a second, so an
// item given t seconds at real time T may be gone from T + t - 1 on. kvlb serves a copy until
// (the time its request left) + t - 1 seconds, never later; t <= 1 is not cached at all.
import { clock } from "../layout/header";
import { startsWith } from "../protocol/text";

// A cached copy's expiry, in the core's clock (ns): never.
export const EXPIRY_NEVER: u64 = 0xffffffffffffffff;

const SECOND: u64 = 1000000000;
// memcached reads an exptime above 30 days as a Unix time, which kvlb's clock cannot place.
const RELATIVE_MAX: i64 = 60 * 60 * 24 * 30;

export const NOT_CACHEABLE: u64 = 0;

// The expiry of a copy whose item was given `ttl` seconds by a request sent at `sentAt`
// (ttl -1: no expiry). NOT_CACHEABLE when the item may already be gone.
export function expiryAfter(sentAt: u64, ttl: i64): u64 {
  if (ttl == -1) return EXPIRY_NEVER;
  if (ttl <= 1 || ttl > RELATIVE_MAX) return NOT_CACHEABLE;
  return sentAt + <u64>(ttl - 1) * SECOND;
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
