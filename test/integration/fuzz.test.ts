// A short run of npm run fuzz: 100,000 hostile datagrams against kvlb in front of real memcached
// servers, and 100,000 hostile frames through the core's frame layer.
import test from "ava";
import { fuzzUdp } from "../fuzz/udp-fuzz.js";
import { fuzzFrames } from "../fuzz/frame-fuzz.js";
import { portBase } from "../support/ports.js";

test("100,000 hostile datagrams: kvlb serves on, backends answer directly, stable keys read back, all counted", async (t) => {
  const r = await fuzzUdp({ count: 100_000, seed: 7, rate: 20_000, basePort: portBase("fuzz") });
  t.deepEqual(r.failures, []);
  t.is(r.kvlbReceived + r.kernelDropped, 100_000);
  t.true(r.byFamily.binary > 10_000 && r.byFamily.ascii > 10_000 && r.byFamily.meta > 10_000);
});

test("100,000 hostile frames: no trap, every frame back in the pool, the state checks, a get still forwards", async (t) => {
  const r = await fuzzFrames(100_000, 11);
  t.deepEqual(r.failures, []);
  t.true((r.counters["frame_malformed"] ?? 0) > 0, "mutated headers were seen and counted");
  t.true((r.counters["client_datagrams"] ?? 0) > 10_000);
});
