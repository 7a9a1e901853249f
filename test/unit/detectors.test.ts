// The other detector modules' guarantees, checked against exact counts, and what every module
// shares: one layout, and a neutral snapshot that any detector restores.
import test from "ava";
import fc from "fast-check";
import { skewedStream } from "../support/streams.js";
import { makeCoreWith, exactCounts, detectorModules } from "../support/core.js";
import { ReferenceCountMin } from "../support/reference-count-min.js";
import { frameBalancer, fromClient, at, serveAsBackends } from "../support/frame-balancer.js";
import { parseFrame } from "../support/frames.js";

import * as abi from "../../assembly/abi/abi.js";

// the rows of the core's sketch (assembly/detect/count-min.ts CM_DEPTH)
const CM_DEPTH = 4;

const stream = skewedStream;

const params = fc.record({
  epsilon: fc.constantFrom(0.01, 0.02, 0.05, 0.1),
  supportOverEps: fc.constantFrom(2, 5, 10),
  // few counters, so that they change hands
  counters: fc.constantFrom(10, 25, 60),
});

test("Space-Saving: f - Δ <= true <= f, Δ <= N/k, every key above N/k holds a counter, no false negatives", async (t) => {
  await fc.assert(
    fc.asyncProperty(stream, params, async (keys, p) => {
      const support = Math.min(1, p.epsilon * p.supportOverEps);
      const k = p.counters;
      const core = await makeCoreWith("space-saving", { support, epsilon: p.epsilon, window: 0, detectCapacity: k });
      core.observe(keys);
      const n = keys.length;
      if (core.total !== BigInt(n) || core.detectorCount > k) return false;
      const reported = new Set(core.report().map((e) => e.hash));
      for (const [key, count] of exactCounts(keys)) {
        const f = Number(core.estimate(key));
        const delta = core.delta(key);
        if (delta === undefined) {
          if (count > n / k) return false; // a key above N/k always holds a counter
          continue;
        }
        const d = Number(delta);
        if (f < count || f - d > count) return false;
        if (d > n / k) return false;
        if (count >= support * n && !reported.has(core.hash(key))) return false;
      }
      return core.checkState() === 0;
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test("Count-Min: estimates never under, rarely over by more than εN; every key at sN or above is reported", async (t) => {
  await fc.assert(
    fc.asyncProperty(stream, params, async (keys, p) => {
      const support = Math.min(1, p.epsilon * p.supportOverEps);
      const k = Math.max(p.counters, Math.ceil(1 / support));
      const core = await makeCoreWith("count-min", { support, epsilon: p.epsilon, window: 0, detectCapacity: k });
      core.observe(keys);
      const n = keys.length;
      const truth = exactCounts(keys);
      const reported = new Set(core.report().map((e) => e.hash));
      let over = 0;
      for (const [key, count] of truth) {
        const est = Number(core.estimate(key));
        if (est < count) return false;
        if (est - count > p.epsilon * n) over++;
        if (count >= support * n && !reported.has(core.hash(key))) return false;
      }
      // the sketch's bound: each key over by more than εN with probability at most e^-depth
      if (over > Math.max(1, 0.05 * truth.size)) return false;
      return core.detectorCount <= k && core.checkState() === 0;
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test("Count-Min overestimates no more than the paper's sketch of the same width and depth, key for key on average", async (t) => {
  await fc.assert(
    fc.asyncProperty(stream, params, async (keys, p) => {
      const core = await makeCoreWith("count-min", { epsilon: p.epsilon, window: 0, detectCapacity: p.counters });
      const ref = new ReferenceCountMin(p.epsilon, CM_DEPTH, keys.length);
      core.observe(keys);
      for (const k of keys) ref.add(k);
      const truth = exactCounts(keys);
      let coreOver = 0;
      let refOver = 0;
      for (const [key, count] of truth) {
        const est = Number(core.estimate(key));
        if (est < count) return false; // never under, as the paper's sketch
        coreOver += est - count;
        refOver += Number(ref.estimate(key)) - count;
      }
      // hashes that spread keys as well as pairwise-independent ones do: no more than twice the
      // reference's total error, give or take one row's expected share (N/w) per key
      return coreOver <= 2 * refOver + (truth.size * keys.length) / ref.width;
    }),
    { numRuns: 40 },
  );
  t.pass();
});

test("Space-Saving conserves the stream: its counters add up to N, and a new key takes a counter over", async (t) => {
  await fc.assert(
    fc.asyncProperty(stream, params, async (keys, p) => {
      const core = await makeCoreWith("space-saving", { epsilon: p.epsilon, window: 0, detectCapacity: p.counters });
      core.observe(keys);
      const entries = core.report(true);
      const sum = entries.reduce((a, e) => a + e.estimate, 0n);
      const distinct = new Set(keys).size;
      // every observation raised exactly one counter by one, also when it took the counter over;
      // and the last key always holds a counter, taken from another key when the table was full
      const last = keys[keys.length - 1];
      const lastHeld = last === undefined || entries.some((e) => e.hash === core.hash(last));
      return sum === BigInt(keys.length) && entries.length === Math.min(distinct, p.counters) && lastHeld;
    }),
    { numRuns: 60 },
  );
  t.pass();
});

test("every module lays out the same memory, so a swap keeps the caches, the NAT table and the frames", async (t) => {
  const config = { frames: 256, frameBytes: 2048 };
  const layouts = await Promise.all(
    (Object.keys(detectorModules) as (keyof typeof detectorModules)[]).map(async (m) => {
      const core = await makeCoreWith(m, config);
      return {
        kind: core.exports.detector_kind(),
        regions: Array.from({ length: abi.REGION_COUNT }, (_, r) => core.region(r)),
      };
    }),
  );
  t.deepEqual(
    layouts.map((l) => l.kind),
    [1, 2, 3, 4],
  );
  for (const l of layouts.slice(1)) t.deepEqual(l.regions, layouts[0]?.regions);
});

test("a snapshot from any detector restores into any other: hot keys stay hot, bounds stay bounds", async (t) => {
  const keys = Array.from({ length: 20_000 }, (_, i) =>
    i % 5 === 0 ? "hot-a" : i % 7 === 0 ? "hot-b" : `cold${i % 900}`,
  );
  const truth = exactCounts(keys);
  const names = Object.keys(detectorModules) as (keyof typeof detectorModules)[];
  for (const from of names) {
    const source = await makeCoreWith(from, { window: 0, support: 0.1, epsilon: 0.01 });
    source.observe(keys);
    const image = source.snapshot();
    for (const to of names) {
      const target = await makeCoreWith(to, { window: 0, support: 0.1, epsilon: 0.01 });
      target.restore(image);
      t.is(target.checkState(), 0, `${from} -> ${to}: consistent`);
      t.is(target.total, BigInt(keys.length));
      const hot = new Set(target.report().map((e) => e.hash));
      t.true(hot.has(target.hash("hot-a")) && hot.has(target.hash("hot-b")), `${from} -> ${to}: both hot keys`);
      // the restored entry still bounds the true count: from below where the detector keeps a
      // lower bound (f, or f - Δ for Space-Saving), from above where it keeps an upper bound
      const count = truth.get("hot-a") ?? 0;
      const f = Number(target.estimate("hot-a"));
      const d = Number(target.delta("hot-a") ?? 0);
      if (to === "lossy" || to === "weighted") t.true(f <= count, `${from} -> ${to}: f <= true`);
      if (to === "space-saving") t.true(f - d <= count && count <= f, `${from} -> ${to}: f - Δ <= true <= f`);
      if (to === "count-min") t.true(count <= f, `${from} -> ${to}: true <= estimate`);
    }
  }
});

test("weighted lossy counting: a get of a key with a large cached reply weighs more than one of a small", async (t) => {
  const run = async (module: "lossy" | "weighted", size: number): Promise<bigint> => {
    const { core, io } = await frameBalancer(40001, {}, module);
    const value = "v".repeat(size);
    for (let i = 0; i < 30; i++) {
      const out = io.burst([fromClient(1, "get k\r\n")]);
      if (parseFrame(at(out, 0).bytes).dport === 11211) serveAsBackends(io, out, { k: value });
    }
    return core.estimate("k");
  };
  t.is(await run("lossy", 1000), 30n, "lossy counting: one per get");
  t.is(await run("weighted", 10), 30n, "a small reply weighs one");
  const heavy = await run("weighted", 1000);
  t.true(heavy > 30n * 5n, `a 1000-byte reply weighs 1 + 8 per hit: ${heavy}`);
});
