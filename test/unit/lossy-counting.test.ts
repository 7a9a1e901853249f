// Lossy counting's guarantees (Manku & Motwani 2002), checked against exact counts.
import test from "ava";
import fc from "fast-check";
import { skewedStream } from "../support/streams.js";
import { makeCore, exactCounts } from "../support/core.js";
import { ReferenceLossyCounter } from "../../host/bench/reference.js";

const stream = skewedStream;

const params = fc.record({
  epsilon: fc.constantFrom(0.01, 0.02, 0.05, 0.1),
  supportOverEps: fc.constantFrom(2, 5, 10),
});

function harmonic(n: number): number {
  let h = 0;
  for (let i = 1; i <= n; i++) h += 1 / i;
  return h;
}

test("no false negatives, f <= true <= f + εN, reports are above (s-ε)N, space within w·H(εN)", async (t) => {
  await fc.assert(
    fc.asyncProperty(stream, params, async (keys, p) => {
      const support = Math.min(1, p.epsilon * p.supportOverEps);
      const core = await makeCore({ support, epsilon: p.epsilon, window: 0 });
      let maxEntries = 0;
      let maxBound = 0;
      for (let i = 0; i < keys.length; i += 97) {
        core.observe(keys.slice(i, i + 97));
        maxEntries = Math.max(maxEntries, core.detectorCount);
        const w = Number(core.bucketWidth);
        const bound = w * harmonic(Number(core.bucket));
        maxBound = Math.max(maxBound, bound);
        if (core.detectorCount > bound) return false;
      }
      const n = keys.length;
      const truth = exactCounts(keys);
      const reported = new Set(core.report().map((e) => e.hash));
      for (const [key, count] of truth) {
        const f = Number(core.estimate(key));
        if (f > count) return false; // never over
        if (count - f > p.epsilon * n) return false; // under by at most εN
        const h = core.hash(key);
        if (count >= support * n && !reported.has(h)) return false; // no false negatives
        if (reported.has(h) && count < (support - p.epsilon) * n) return false;
      }
      return core.checkState() === 0 && maxEntries <= maxBound;
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test("the core's estimates equal a plain lossy-counting reference, entry for entry", async (t) => {
  await fc.assert(
    fc.asyncProperty(stream, params, async (keys, p) => {
      const support = Math.min(1, p.epsilon * p.supportOverEps);
      const core = await makeCore({ support, epsilon: p.epsilon, window: 0 });
      const ref = new ReferenceLossyCounter(support, p.epsilon);
      core.observe(keys);
      for (const k of keys) ref.observe(k);
      if (core.detectorCount !== ref.entries.size) return false;
      for (const [k, e] of ref.entries) {
        if (core.estimate(k) !== BigInt(e.f) || core.delta(k) !== BigInt(e.delta)) return false;
      }
      return true;
    }),
    { numRuns: 40 },
  );
  t.pass();
});

test("weighted: estimates stay within εW of the true weight and hot keys are all reported", async (t) => {
  const weighted = fc
    .array(fc.tuple(fc.nat({ max: 1_000_000 }), fc.integer({ min: 1, max: 1500 })), { minLength: 1, maxLength: 4000 })
    .map((xs) => ({
      keys: xs.map(([d]) => `w${Math.floor(200 * Math.pow(d / 1_000_000, 3))}`),
      weights: xs.map(([, w]) => w),
    }));
  await fc.assert(
    fc.asyncProperty(weighted, params, async ({ keys, weights }, p) => {
      const support = Math.min(1, p.epsilon * p.supportOverEps);
      const core = await makeCore({ support, epsilon: p.epsilon, window: 0, weighted: true });
      core.observe(keys, weights);
      const total = weights.reduce((a, b) => a + b, 0);
      if (core.total !== BigInt(total)) return false;
      const truth = exactCounts(keys, weights);
      const reported = new Set(core.report().map((e) => e.hash));
      for (const [key, weight] of truth) {
        const f = Number(core.estimate(key));
        if (f > weight || weight - f > p.epsilon * total) return false;
        if (weight >= support * total && !reported.has(core.hash(key))) return false;
      }
      return core.checkState() === 0;
    }),
    { numRuns: 40 },
  );
  t.pass();
});

test("a hot key is flagged in the burst result as soon as it crosses (s-ε)N", async (t) => {
  const core = await makeCore({ support: 0.2, epsilon: 0.02, window: 0 });
  const keys = Array.from({ length: 5000 }, (_, i) => (i % 4 === 0 ? "hot" : `cold${i}`));
  const results = core.observe(keys);
  const last = results[results.length - 4];
  t.truthy(last && last.flags & 1, "the key with 25% of the stream is hot");
  t.falsy((results[results.length - 1]?.flags ?? 0) & 1, "a key seen once is not");
});
