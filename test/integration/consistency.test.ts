// Reads and writes through kvlb from many clients at once, on a few keys hot enough to live in
// its cache: every read must return a value that was current at some moment during the read.
import test from "ava";
import { startCluster, type Cluster } from "../support/cluster.js";
import { runHistoryLoad } from "../support/history-load.js";
import { portBase } from "../support/ports.js";

const load = { clients: 8, opsPerClient: 1400, keys: ["hist-a", "hist-b", "hist-c", "hist-d"], writeShare: 0.3 };

let cluster: Cluster;
test.before(async () => {
  cluster = await startCluster(portBase("consistency"), 3, ["--timeout", "500"]);
});
test.after.always(async () => {
  await cluster?.stop();
});

type CacheStats = { cache: { l1Hits: number; l2Hits: number } };

test(`${load.clients} clients, ${load.clients * load.opsPerClient} operations on ${load.keys.length} hot keys: no read returns a stale value`, async (t) => {
  let before: CacheStats = { cache: { l1Hits: 0, l2Hits: 0 } };
  const r = await runHistoryLoad(cluster.kvlbPort, "127.0.0.1", load, async () => {
    before = (await cluster.stats()) as unknown as CacheStats;
  });
  t.true(r.reads + r.writes >= 10_000, `${r.reads} reads and ${r.writes} writes`);
  t.true(r.unanswered < 20, `${r.unanswered} requests went unanswered`);
  t.deepEqual(r.violations.slice(0, 5), [], `${r.violations.length} reads broke consistency`);
  const after = (await cluster.stats()) as unknown as CacheStats;
  const hits = after.cache.l1Hits + after.cache.l2Hits - before.cache.l1Hits - before.cache.l2Hits;
  t.true(hits > r.reads / 4, `the cache answered ${hits} of ${r.reads} reads: the test must exercise it`);
});
