// Snapshot -> restore into an instance with different table sizes answers the same.
import test from "ava";
import fc from "fast-check";
import { makeCore, valueBlock } from "../support/core.js";

const workload = fc.record({
  keys: fc.array(fc.nat({ max: 300 }), { minLength: 1, maxLength: 3000 }),
  cached: fc.array(fc.nat({ max: 300 }), { maxLength: 30 }),
  warm: fc.array(fc.tuple(fc.nat({ max: 300 }), fc.nat({ max: 50 })), { maxLength: 30 }),
});

const small = { support: 0.1, epsilon: 0.01, l1Entries: 64, l1Bytes: 64 * 1024, l2Entries: 64, seed: 1 };
const large = { ...small, detectCapacity: 5000, l1Entries: 500, l1Bytes: 1 << 20, l2Entries: 300, seed: 2 };

test("restore into larger tables gives the same estimates, reports, caches and later answers", async (t) => {
  await fc.assert(
    fc.asyncProperty(workload, async (w) => {
      const a = await makeCore(small);
      a.observe(w.keys.map((k) => `k${k}`));
      for (const k of w.cached) a.l1Put(`k${k}`, valueBlock(`k${k}`, `l1-${k}`));
      for (const [k, f] of w.warm) a.l2Put(`w${k}`, BigInt(f), valueBlock(`w${k}`, `l2-${k}`));
      const b = await makeCore(large);
      b.restore(a.snapshot());
      if (b.checkState() !== 0) return false;
      if (b.total !== a.total || b.detectorCount !== a.detectorCount) return false;
      for (let k = 0; k <= 300; k++) {
        if (a.estimate(`k${k}`) !== b.estimate(`k${k}`) || a.delta(`k${k}`) !== b.delta(`k${k}`)) return false;
      }
      const hot = (c: typeof a): string =>
        c
          .report()
          .map((e) => e.hash)
          .sort()
          .join();
      if (hot(a) !== hot(b)) return false;
      if (a.l1Keys().join() !== b.l1Keys().join()) return false;
      if (JSON.stringify(a.l2Entries(), big) !== JSON.stringify(b.l2Entries(), big)) return false;
      // Both continue identically.
      const more = w.keys.map((k) => `k${(k * 7) % 301}`);
      const ra = a.observe(more).map((r) => `${r.flags}:${r.reply?.length ?? 0}`);
      const rb = b.observe(more).map((r) => `${r.flags}:${r.reply?.length ?? 0}`);
      return ra.join() === rb.join() && a.snapshot().length === b.snapshot().length;
    }),
    { numRuns: 40 },
  );
  t.pass();
});

test("restore into smaller caches keeps the newest L1 entries and the warmest L2 entries", async (t) => {
  const a = await makeCore(large);
  for (let k = 0; k < 100; k++) a.l1Put(`k${k}`, valueBlock(`k${k}`, "x"));
  for (let k = 0; k < 100; k++) a.l2Put(`w${k}`, BigInt(k), valueBlock(`w${k}`, "y"));
  const b = await makeCore({ ...small, l1Entries: 10, l2Entries: 5 });
  b.restore(a.snapshot());
  t.deepEqual(b.l1Keys(), a.l1Keys().slice(-10));
  t.deepEqual(
    b.l2Entries().map((e) => e.key),
    ["w95", "w96", "w97", "w98", "w99"],
  );
  t.is(b.checkState(), 0);
});

test("write versions survive a restore, so a stale completion is still refused", async (t) => {
  const a = await makeCore(small);
  a.l1Put("k", valueBlock("k", "1"));
  const v = a.beginWrite("k");
  const b = await makeCore(large);
  b.restore(a.snapshot());
  t.false(b.completeWrite("k", v - 1n, valueBlock("k", "old")));
  t.true(b.completeWrite("k", v, valueBlock("k", "2")));
  t.true(b.beginWrite("k") > v, "new versions keep growing");
});

function big(_: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
