// A short run of npm run fuzz: 100,000 hostile datagrams against kvlb in front of real memcached
// servers, 20,000 hostile requests over TCP (backends over UDP, then over TCP), and 100,000
// hostile frames through the core's frame layer.
import test from "ava";
import { fuzzUdp } from "../fuzz/udp-fuzz.js";
import { fuzzFrames } from "../fuzz/frame-fuzz.js";
import { fuzzStreams } from "../fuzz/stream-fuzz.js";
import { portBase } from "../support/ports.js";

test("100,000 hostile datagrams: kvlb serves on, backends answer directly, stable keys read back, all counted", async (t) => {
  const r = await fuzzUdp({ count: 100_000, seed: 7, rate: 20_000, basePort: portBase("fuzz") });
  t.deepEqual(r.failures, []);
  t.is(r.kvlbReceived + r.kernelDropped, 100_000);
  t.true(r.byFamily.binary > 10_000 && r.byFamily.ascii > 10_000 && r.byFamily.meta > 10_000);
});

for (const tcpBackends of [false, true]) {
  test(`20,000 hostile requests over 32 TCP connections, backends over ${tcpBackends ? "TCP" : "UDP"}: kvlb serves on over both protocols, closes every connection, stays small, stable keys read back`, async (t) => {
    const r = await fuzzStreams({
      requests: 20_000,
      seed: 5,
      connections: 32,
      basePort: portBase("fuzz") + (tcpBackends ? 400 : 200),
      tcpBackends,
    });
    t.deepEqual(r.failures, []);
    t.true((r.kvlbTcp["requests"] ?? 0) > 1000, "kvlb took requests from the streams");
    t.true((r.kvlbTcp["closedMalformed"] ?? 0) > 0, "some streams were malformed enough to be closed");
    t.is(r.kvlbTcp["accepted"], r.kvlbTcp["closed"]);
  });
}

test("100,000 hostile frames: no trap, every frame back in the pool, the state checks, a get still forwards", async (t) => {
  const r = await fuzzFrames(100_000, 11);
  t.deepEqual(r.failures, []);
  t.true((r.counters["frame_malformed"] ?? 0) > 0, "mutated headers were seen and counted");
  t.true((r.counters["client_datagrams"] ?? 0) > 10_000);
});
