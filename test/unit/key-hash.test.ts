// The key hash reads a key's last 1-7 bytes as one masked word. These tests pin down that the
// bytes after a key never change its hash, that a key ending at the last byte of memory is
// hashed without a trap, and that the low bits (which the index tables use) are evenly spread.
import test from "ava";
import { makeCore, text } from "../support/core.js";
import { u64 } from "../../host/core/core.js";

test("the bytes after a key do not change its hash", async (t) => {
  const core = await makeCore();
  const bytes = new Uint8Array(core.memory.buffer);
  const at = core.hostArea.offset;
  for (let len = 1; len <= 80; len++) {
    const key = text("k".repeat(len));
    bytes.set(key, at);
    bytes.fill(0x00, at + len, at + len + 16);
    const zeros = core.exports.hash(at, len);
    bytes.fill(0xff, at + len, at + len + 16);
    const ones = core.exports.hash(at, len);
    t.is(zeros, ones, `a key of ${len} bytes`);
    t.is(u64(zeros), core.hash("k".repeat(len)));
  }
});

test("a key that ends at the last byte of memory hashes like the same key elsewhere", async (t) => {
  const core = await makeCore();
  const bytes = new Uint8Array(core.memory.buffer);
  for (const key of ["a", "abcdefg", "abcdefghijk", "0123456789abcdef0123456"]) {
    const at = bytes.length - key.length;
    bytes.set(text(key), at);
    t.is(u64(core.exports.hash(at, key.length)), core.hash(key), key);
  }
});

test("keys that differ only in length or in their last byte hash apart", async (t) => {
  const core = await makeCore();
  const seen = new Set<bigint>();
  for (let len = 1; len <= 40; len++)
    for (const last of ["a", "b", "\u0000"]) seen.add(core.hash("x".repeat(len - 1) + last));
  t.is(seen.size, 40 * 3);
});

test("sequential keys spread evenly over the low 12 bits", async (t) => {
  const core = await makeCore();
  const buckets = 4096;
  const n = buckets * 32;
  const counts = new Uint32Array(buckets);
  for (let i = 0; i < n; i++) {
    const h = core.hash(`user:${i}`);
    const b = Number(h & BigInt(buckets - 1));
    counts[b] = (counts[b] ?? 0) + 1;
  }
  const expected = n / buckets;
  let chi = 0;
  for (const c of counts) chi += (c - expected) ** 2 / expected;
  // chi-square with 4095 degrees of freedom: mean 4095, sd about 90; 4600 is past 5 sd
  t.true(chi < 4600, `chi-square ${chi.toFixed(0)}`);
});
