// The parts bench:skew stands on, against a real memcached: the open-loop load answers what it
// offered at a rate the server bears, and a CPU cap (a cgroup) makes the same server the limit
// at a rate it bore uncapped: the kernel throttles it, and its latency climbs. Needs root.
import test from "ava";
import { startMemcached, type MemcachedSet } from "../../host/testbed/memcached.js";
import { CpuCap } from "../../host/testbed/cpu-cap.js";
import { openLoop, type OpenLoopResult } from "../../host/load/open-loop.js";
import { servedRequests } from "../../host/testbed/memcached-stats.js";
import { portBase } from "../support/ports.js";

const port = portBase("cpu-cap");
let server: MemcachedSet;
let cap: CpuCap | undefined;

test.before(async () => {
  server = await startMemcached([port]);
});
test.after.always(async () => {
  await server?.stop();
  cap?.remove();
});

const load = (rate: number): Promise<OpenLoopResult> =>
  openLoop({
    rate,
    seconds: 1.5,
    next: () => ({ key: "capped-key", set: false }),
    route: () => ({ address: "127.0.0.1", port }),
    valueBytes: 10,
    timeoutMs: 500,
  });

test.serial("uncapped, every request offered is answered, as memcached counts them too", async (t) => {
  const before = await servedRequests(port);
  const r = await load(3000);
  t.is(r.offered, 4500);
  t.is(r.completed, 4500);
  t.is(r.lost, 0);
  t.is(r.misses, 4500, "the key was never set: each get is a miss, END");
  t.is((await servedRequests(port)) - before, 4500);
});

test.serial("held to 2% of a CPU, the same rate is throttled by the kernel and its p99 climbs past 5 ms", async (t) => {
  cap = new CpuCap(`kvlb-test-${process.pid}`, 2, 50_000);
  cap.add(server.processes[0]?.pid ?? 0);
  const light = await load(100);
  t.true(light.latency.getValueAtPercentile(99) < 5000, `p99 ${light.latency.getValueAtPercentile(99)} µs at 100/s`);
  const before = cap.throttling();
  const heavy = await load(3000);
  const after = cap.throttling();
  const throttled = (after.throttled - before.throttled) / Math.max(1, after.periods - before.periods);
  t.true(throttled > 0.3, `throttled in ${(throttled * 100).toFixed(0)}% of its periods`);
  t.true(heavy.latency.getValueAtPercentile(99) > 5000, `p99 ${heavy.latency.getValueAtPercentile(99)} µs at 3,000/s`);
});

test.serial("a cap that asks for less than the kernel's 1 ms quota is refused with the reason", (t) => {
  const e = t.throws(() => new CpuCap(`kvlb-test-${process.pid}-tiny`, 1, 50_000));
  t.regex(e?.message ?? "", /a 1% cap over 50000 µs is a 500 µs quota; the kernel takes 1000 µs at least/);
});
