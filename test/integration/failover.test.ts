// A backend killed under load, with kvlb run in front of three real memcached servers: within a
// second its keys are served by the next server on the ring (or get SERVER_ERROR backend down at
// once, with --on-down fail); no key of the other backends ever sees an error or a miss; no write
// acknowledged after the kill is lost; and the backend is taken back when it is restarted.
import test from "ava";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { startMemcached } from "../../host/testbed/memcached.js";
import { failoverLoad } from "../support/failover-load.js";
import { judgeFailover } from "../support/failover-check.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { portBase } from "../support/ports.js";
import { until } from "../support/until.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";

const KEYS = Array.from({ length: 48 }, (_, i) => `fo-${i}`);
const restarted: { stop(): Promise<void> }[] = [];
const clusters: Cluster[] = [];

test.after.always(async () => {
  for (const r of restarted) await r.stop();
  for (const c of clusters) await c.stop();
});

// libmemcached decides where a key belongs, not kvlb's own ring
async function homes(c: Cluster): Promise<(key: string) => number> {
  const placed = libmemcachedHomes(
    c.backendPorts.map((port) => ({ host: "127.0.0.1", port })),
    KEYS,
  );
  const map = new Map(KEYS.map((k, i) => [k, placed[i] ?? -1]));
  return Promise.resolve((k) => map.get(k) ?? -1);
}

async function statsOf(c: Cluster): Promise<StatsView> {
  return (await c.stats()) as unknown as StatsView;
}

test.serial(
  "SIGKILL one of three under load: its keys fail over within 1 s, nothing else errs, it comes back",
  async (t) => {
    const c = await startCluster(portBase("failover"), 3, ["--timeout", "300"]);
    clusters.push(c);
    const home = await homes(c);
    const victim = 2;
    t.true(KEYS.some((k) => home(k) === victim));
    const loading = failoverLoad("127.0.0.1", c.kvlbPort, 4, KEYS);
    await new Promise((r) => setTimeout(r, 1000));
    const killedAt = Date.now();
    const gone = new Promise<number>((resolve) => c.memcached[victim]?.once("exit", () => resolve(Date.now())));
    c.memcached[victim]?.kill("SIGKILL");
    const deadAt = await gone;
    const ops = await loading;
    const v = judgeFailover(ops, home, victim, killedAt, deadAt);
    t.log(`failover in ${v.failoverMs} ms; during it: ${JSON.stringify(v.during)}; ${v.healthyOps} ops on other keys`);
    t.deepEqual(v.healthyWrong, [], "the other backends' keys: no error, no miss, no stale value");
    t.deepEqual(v.deadKeyWrong, [], "the dead backend's keys after failover: every write kept");
    t.true(v.failoverMs < 1000, `failover took ${v.failoverMs} ms`);
    t.true(v.deadKeyOps > 50 && v.healthyOps > 100);
    const s = await statsOf(c);
    t.is(s.backends[victim]?.health?.state, "down");
    t.true(s.datagrams.failedOver > 0);
    const metrics = await (await fetch(`http://127.0.0.1:${c.adminPort}/metrics`)).text();
    t.regex(metrics, new RegExp(`^kvlb_backend_up\\{backend="127\\.0\\.0\\.1:${c.backendPorts[victim]}"\\} 0$`, "m"));
    const health = (await (await fetch(`http://127.0.0.1:${c.adminPort}/health/ready`)).json()) as {
      backendsUp: number;
    };
    t.is(health.backendsUp, 2);

    // restarted empty on the same port: taken back, and its keys go to it again
    const port = c.backendPorts[victim] ?? 0;
    restarted.push(await startMemcached([port]));
    await until("the backend is up again", async () => (await statsOf(c)).backends[victim]?.health?.state === "up");
    const client = new UdpClient(c.kvlbPort);
    const key = KEYS.find((k) => home(k) === victim) ?? "";
    t.is(await client.text(`get ${key}\r\n`), "END\r\n", "a miss its own (empty) backend reported");
    t.is(await client.text(`set ${key} 0 0 4\r\nback\r\n`), "STORED\r\n");
    client.close();
    const direct = new UdpClient(port);
    t.is(
      await direct.text(`get ${key}\r\n`),
      `VALUE ${key} 0 4\r\nback\r\nEND\r\n`,
      "the write landed on the restarted backend",
    );
    direct.close();
  },
);

test.serial(
  "--on-down fail: a dead backend's keys get SERVER_ERROR backend down at once, the others are served",
  async (t) => {
    const c = await startCluster(portBase("failover") + 100, 3, ["--timeout", "300", "--on-down", "fail"]);
    clusters.push(c);
    const home = await homes(c);
    const victim = 1;
    c.memcached[victim]?.kill("SIGKILL");
    await until(
      "the backend is marked down",
      async () => (await statsOf(c)).backends[victim]?.health?.state === "down",
    );
    const client = new UdpClient(c.kvlbPort);
    for (const key of KEYS.slice(0, 12)) {
      const started = Date.now();
      const reply = await client.text(`get ${key}\r\n`);
      if (home(key) === victim) {
        t.is(reply, "SERVER_ERROR backend down\r\n", key);
        t.true(Date.now() - started < 200, "at once, not after a timeout");
        t.is(
          await client.text(`set ${key} 0 0 1\r\nx\r\n`),
          "SERVER_ERROR backend down\r\n",
          `${key}: a write is answered too`,
        );
      } else {
        t.is(reply, "END\r\n", key);
      }
    }
    client.close();
  },
);
