// What kvlb caches never outlives its backend's data: a flush_all sent straight to a backend, or
// a backend restarted empty, is seen by the health checks and the cached copies of its keys are
// dropped; kvlb flush empties the caches on demand; /health answers for orchestrators.
import test, { type ExecutionContext } from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { text as textOf, homeIndex, fromCache as cachedIn, makeCached as cached } from "../support/cache-probe.js";
import { startMemcached } from "../../host/testbed/memcached.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { portBase } from "../support/ports.js";
import { Conn } from "../support/tcp-conn.js";

let cluster: Cluster;
let client: UdpClient;
const restarted: { stop(): Promise<void> }[] = [];

test.before(async () => {
  cluster = await startCluster(portBase("backend-changes"), 2, ["--timeout", "300"]);
  client = new UdpClient(cluster.kvlbPort);
});
test.after.always(async () => {
  client?.close();
  for (const r of restarted) await r.stop();
  await cluster?.stop();
});

const END = /(END|STORED|OK|SERVER_ERROR[^\r]*)\r\n$/;
const text = (c: UdpClient, payload: string): Promise<string> => textOf(c, payload, END);
const homeIndexOf = (key: string): Promise<number> => homeIndex(cluster.backendPorts, key);
const fromCache = (key: string): Promise<boolean> => cachedIn(client, cluster.backendPorts, key);
const makeCached = (key: string): Promise<void> => cached(client, cluster.backendPorts, key);

/** Asks kvlb for `key` until it answers `want`, within `ms`; returns the last answer. */
async function eventually(key: string, want: string, ms = 3000): Promise<string> {
  const deadline = Date.now() + ms;
  let got = await text(client, `get ${key}\r\n`);
  while (got !== want && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    got = await text(client, `get ${key}\r\n`);
  }
  return got;
}

test.serial("a flush_all sent straight to a backend: kvlb stops serving its keys' cached values", async (t) => {
  t.is(await text(client, "set flushed-key 0 0 3\r\nold\r\n"), "STORED\r\n");
  await makeCached("flushed-key");
  const port = cluster.backendPorts[await homeIndexOf("flushed-key")] ?? 0;
  const direct = new UdpClient(port);
  t.is(await text(direct, "flush_all\r\n"), "OK\r\n");
  direct.close();
  t.is(await eventually("flushed-key", "END\r\n"), "END\r\n", "the backend's miss, not kvlb's old copy");
  const s = (await cluster.stats()) as unknown as StatsView;
  t.is(s.backends.find((b) => b.backend.endsWith(`:${port}`))?.health?.flushes, 1);
});

test.serial("a backend restarted empty between two probes: kvlb drops its keys' cached values", async (t) => {
  t.is(await text(client, "set restart-key 0 0 3\r\nold\r\n"), "STORED\r\n");
  await makeCached("restart-key");
  const index = await homeIndexOf("restart-key");
  const port = cluster.backendPorts[index] ?? 0;
  cluster.memcached[index]?.kill("SIGKILL");
  restarted.push(await startMemcached([port]));
  t.is(await eventually("restart-key", "END\r\n"), "END\r\n", "the restarted backend's miss");
  const s = (await cluster.stats()) as unknown as StatsView;
  const h = s.backends[index]?.health;
  // seen as a restart, or as down (its port refused a probe) and then back
  t.true((h?.restarts ?? 0) >= 1 || h?.state === "down" || h?.reason === "answers again", JSON.stringify(h));
});

test.serial("kvlb flush empties kvlb's caches: the next get goes to the backend", async (t) => {
  t.is(await text(client, "set purged-key 0 0 1\r\nv\r\n"), "STORED\r\n");
  await makeCached("purged-key");
  const { stdout } = await promisify(execFile)(process.execPath, [
    "bin/kvlb.js",
    "flush",
    "--admin",
    `127.0.0.1:${cluster.adminPort}`,
  ]);
  t.regex(stdout, /^kvlb's caches are empty/);
  t.false(await fromCache("purged-key"), "answered by its backend after the flush");
  t.is(await text(client, "get purged-key\r\n"), "VALUE purged-key 0 1\r\nv\r\nEND\r\n");
});

test.serial("/health says alive and ready with every backend up; /health/ready is 503 with none", async (t) => {
  const r = await fetch(`http://127.0.0.1:${cluster.adminPort}/health/ready`);
  t.is(r.status, 200);
  t.like(await r.json(), { alive: true, ready: true, backendsUp: 2 });
  for (const m of cluster.memcached) m.kill("SIGKILL");
  for (const r of restarted) await r.stop();
  const deadline = Date.now() + 3000;
  let status = 200;
  while (status !== 503 && Date.now() < deadline) {
    status = (await fetch(`http://127.0.0.1:${cluster.adminPort}/health/ready`)).status;
    await new Promise((res) => setTimeout(res, 50));
  }
  t.is(status, 503);
  const alive = await fetch(`http://127.0.0.1:${cluster.adminPort}/health`);
  t.is(alive.status, 200);
  t.like(await alive.json(), { alive: true, ready: false, backendsUp: 0 });
  t.regex(
    await text(client, "get anything\r\n"),
    /^SERVER_ERROR backend down\r\n$/,
    "no backend up: an error, not a miss",
  );
});

/** A kvlb with `adminCidr` as admin.clients, and 8 keys stored through it, the first one cached. */
async function flushSetUp(
  t: ExecutionContext,
  adminCidr: string,
  offset: number,
  prefix: string,
): Promise<{ admin: Cluster; udp: UdpClient; keys: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), "kvlb-flush-"));
  const config = join(dir, "admin.yaml");
  writeFileSync(config, `admin:\n  clients: [${adminCidr}]\n`);
  const admin = await startCluster(portBase("backend-changes") + offset, 2, ["--config", config]);
  const udp = new UdpClient(admin.kvlbPort);
  t.teardown(async () => {
    udp.close();
    await admin.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const keys = Array.from({ length: 8 }, (_, i) => `${prefix}-${i}`);
  for (const k of keys) t.is(await text(udp, `set ${k} 0 0 1\r\nv\r\n`), "STORED\r\n");
  for (let i = 0; i < 200; i++) await text(udp, `get ${keys[0]}\r\n`); // hot, and cached
  return { admin, udp, keys };
}

test.serial("flush_all from a client in admin.clients reaches every backend and empties kvlb's caches", async (t) => {
  const { admin, udp: c, keys } = await flushSetUp(t, "127.0.0.0/8", 100, "flush-all");
  const replies = await c.exchange(c.frame("flush_all\r\n"), undefined, 500);
  t.deepEqual(
    replies.map((m) => m.payload.toString("latin1")),
    ["OK\r\n"],
    "one OK, once every backend said OK, and no other datagram",
  );
  for (const port of admin.backendPorts) {
    const direct = new UdpClient(port);
    for (const k of keys) t.is(await text(direct, `get ${k}\r\n`), "END\r\n", `${k} on ${port}`);
    direct.close();
  }
  for (const k of keys) t.is(await text(c, `get ${k}\r\n`), "END\r\n", `${k} through kvlb`);
});

test.serial(
  "flush_all over TCP: from a connection of admin.clients it reaches every backend and empties kvlb's caches; from any other it is refused and nothing is flushed",
  async (t) => {
    const { admin, udp, keys } = await flushSetUp(t, "127.0.0.2/32", 200, "flush-tcp");
    const held = async (): Promise<number> => {
      let n = 0;
      for (const port of admin.backendPorts) {
        const direct = new UdpClient(port);
        for (const k of keys) if ((await text(direct, `get ${k}\r\n`)) !== "END\r\n") n++;
        direct.close();
      }
      return n;
    };
    const outsider = new Conn(admin.kvlbPort, "127.0.0.1", "127.0.0.1");
    try {
      outsider.send("flush_all\r\n");
      t.regex(await outsider.until((s) => s.endsWith("\r\n")), /^SERVER_ERROR not supported through kvlb/);
    } finally {
      outsider.destroy();
    }
    t.is(await held(), keys.length, "every key is still on its server");
    const insider = new Conn(admin.kvlbPort, "127.0.0.1", "127.0.0.2");
    try {
      insider.send("flush_all\r\n");
      t.is(await insider.until((s) => s.endsWith("\r\n")), "OK\r\n", "one OK, once every backend said OK");
    } finally {
      insider.destroy();
    }
    t.is(await held(), 0, "no server holds a key");
    for (const k of keys) t.is(await text(udp, `get ${k}\r\n`), "END\r\n", `${k} through kvlb`);
  },
);
