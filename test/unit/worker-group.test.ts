// Several workers' stats as one: counters and backend loads add up, a key hot on two workers is
// one key with their estimates summed, and each worker's own report stays beside the sum.
import test from "ava";
import { mergeReports } from "../../host/balancer/worker-group.js";
import { statsView } from "../../host/control/stats-view.js";
import type { StatsReport, WorkerSetup } from "../../host/worker/messages.js";

const report = (n: number, hot: StatsReport["hotKeys"]): StatsReport => ({
  type: "stats",
  stats: { client_datagrams: 10 * n, cache_replies: n, keys: 10 * n },
  backends: [{ requests: n, replies: n, timeouts: 0, outstanding: 1, fails: 0, changes: n }],
  natUsed: n,
  natEntries: 8192,
  l1Count: n,
  l1Bytes: 100 * n,
  l2Count: 2 * n,
  observed: 10 * n,
  hotKeys: hot,
  xsk: [{ rx: n }],
});

test("the sum of two workers, with each one's report kept", (t) => {
  const a = report(1, [
    { key: "x", estimate: 5, layer: "L2" },
    { key: "y", estimate: 3, layer: "L1" },
  ]);
  const b = report(2, [{ key: "x", estimate: 7, layer: "L1" }]);
  const m = mergeReports([a, b]);
  t.deepEqual(m.stats, { client_datagrams: 30, cache_replies: 3, keys: 30 });
  // a state change counts as applied once every worker applied it
  t.deepEqual(m.backends, [{ requests: 3, replies: 3, timeouts: 0, fails: 0, outstanding: 2, changes: 1 }]);
  t.is(m.natEntries, 16384);
  t.is(m.l1Count, 3);
  t.deepEqual(m.hotKeys, [
    { key: "x", estimate: 12, layer: "L1" },
    { key: "y", estimate: 3, layer: "L1" },
  ]);
  t.deepEqual(m.xsk, [{ rx: 1 }, { rx: 2 }]);
  t.deepEqual(m.workers, [a, b]);

  const setup: WorkerSetup = {
    core: {},
    backends: [{ host: "10.0.0.1", address: "10.0.0.1", port: 11211, weight: 1 }],
    listen: { address: "0.0.0.0", port: 11211 },
    backendBind: "0.0.0.0",
  };
  const view = statsView(setup, m);
  t.is(view.datagrams.fromClients, 30);
  t.deepEqual(
    view.workers?.map((w) => [w.worker, w.datagrams.fromClients, w.requests]),
    [
      [0, 10, 1],
      [1, 20, 2],
    ],
  );
});

test("a backend's next hop counts as known only when every worker's core knows it", (t) => {
  const hops = (...known: boolean[]): StatsReport => ({
    ...report(1, []),
    backends: known.map((nextHop) => ({
      requests: 0,
      replies: 0,
      timeouts: 0,
      outstanding: 0,
      fails: 0,
      changes: 0,
      nextHop,
    })),
  });
  const m = mergeReports([hops(true, true, false), hops(true, false, false)]);
  t.deepEqual(
    m.backends.map((b) => b.nextHop),
    [true, false, false],
  );
  const setup: WorkerSetup = {
    core: {},
    backends: ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((a) => ({ host: a, address: a, port: 11211, weight: 1 })),
    listen: { address: "10.0.0.9", port: 11211 },
    backendBind: "0.0.0.0",
    afxdp: { ports: [], neighbours: [] },
  };
  t.is(statsView(setup, m).frames?.nextHopsKnown, 1);
});
