// A multi-key get over TCP answers its keys in the order they were asked, as memcached does,
// though kvlb answers some from its cache and sends the others to several servers that answer in
// their own time. Two clusters: backends over UDP and over TCP, the cache on in both. The oracle
// is each key's own server (placed by libmemcached), asked for that key alone.
import test from "ava";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { portBase } from "../support/ports.js";
import { Conn } from "../support/tcp-conn.js";
import { UdpClient } from "../support/udp-client.js";
import { text } from "../support/cache-probe.js";
import { until } from "../support/until.js";
import { serversAnswer, type AskServer } from "../support/key-order.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";

const base = portBase("tcp-key-order");
const arms: { backends: "udp" | "tcp"; cluster?: Cluster; ask: AskServer }[] = [
  { backends: "udp", ask: askUdp },
  { backends: "tcp", ask: askTcp },
];
let dir: string;

async function askUdp(port: number, line: string): Promise<string> {
  const c = new UdpClient(port);
  try {
    return await text(c, line);
  } finally {
    c.close();
  }
}

async function askTcp(port: number, line: string): Promise<string> {
  const c = new Conn(port);
  try {
    c.send(line);
    return await c.until((s) => /(END|ERROR[^\r]*)\r\n$/.test(s));
  } finally {
    c.destroy();
  }
}

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvlb-key-order-"));
  const config = join(dir, "tcp-backends.yaml");
  writeFileSync(config, "tcp:\n  backends: true\n");
  for (const [i, arm] of arms.entries()) {
    // a server the health checks mark down while a get waits on it answers an error, as one
    // that times out does, not its keys failed over to another server as misses
    const extra = ["--timeout", "500", "--on-down", "fail", ...(arm.backends === "tcp" ? ["--config", config] : [])];
    arm.cluster = await startCluster(base + i * 100, 3, extra, 64, undefined, arm.backends);
  }
});
test.after.always(async () => {
  await Promise.all(arms.map((a) => a.cluster?.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const count = (s: string, what: string): number => s.split(what).length - 1;

/** A value of its own for each key; every seventh is longer than a datagram. */
const valueOf = (key: string, i: number): string => key + "v".repeat(i % 7 === 2 ? 4000 + i : i);

/** Stores `keys` through kvlb over TCP, each with a value and flags of its own. */
async function store(cluster: Cluster, keys: readonly string[]): Promise<void> {
  const c = new Conn(cluster.kvlbPort);
  try {
    c.send(keys.map((k, i) => `set ${k} ${i} 0 ${valueOf(k, i).length}\r\n${valueOf(k, i)}\r\n`).join(""));
    await c.until((r) => count(r, "STORED\r\n") === keys.length);
  } finally {
    c.destroy();
  }
}

function cacheHits(stats: Record<string, unknown>): number {
  const cache = stats.cache as { l1Hits: number; l2Hits: number };
  return cache.l1Hits + cache.l2Hits;
}

/** Gets `key` through kvlb (over UDP) until kvlb answers five gets of it from its cache. */
async function makeCached(cluster: Cluster, key: string): Promise<void> {
  const udp = new UdpClient(cluster.kvlbPort);
  try {
    await until(
      `${key} to come from kvlb's cache`,
      async () => {
        for (let n = 0; n < 30; n++) await text(udp, `get ${key}\r\n`);
        const before = cacheHits(await cluster.stats());
        for (let n = 0; n < 5; n++) await text(udp, `get ${key}\r\n`);
        return cacheHits(await cluster.stats()) - before >= 5;
      },
      20_000,
    );
  } finally {
    udp.close();
  }
}

for (const [i, arm] of arms.entries()) {
  test.serial(
    `backends over ${arm.backends.toUpperCase()}: a get, gets and gat of 41 keys over TCP, some from kvlb's cache, some missing, some longer than a datagram and one asked twice, answer in the order asked, as each key's server does`,
    async (t) => {
      const cluster = arm.cluster;
      if (!cluster) throw new Error("no cluster");
      const keys = Array.from({ length: 32 }, (_, k) => `order-${i}-${k}`);
      await store(cluster, keys);
      const hot = [keys[3] ?? "", keys[17] ?? "", keys[29] ?? ""]; // short enough to cache
      for (const key of hot) await makeCached(cluster, key);
      // a fixed shuffle of the stored keys, with keys no server holds among them
      const asked = keys.map((_, k) => keys[(k * 13) % keys.length] ?? "");
      for (let m = 0; m < 8; m++) asked.splice(m * 5, 0, `order-missing-${i}-${m}`);
      asked.push(keys[9] ?? "");
      t.is(new Set(asked).size, 40);
      for (const command of ["get", "gets", "gat 0"]) {
        const expected = (await serversAnswer(cluster.backendPorts, arm.ask, command, asked)) + "END\r\n";
        const before = cacheHits(await cluster.stats());
        const through = await askTcp(cluster.kvlbPort, `${command} ${asked.join(" ")}\r\n`);
        t.is(through, expected, command);
        if (command === "get")
          t.true(cacheHits(await cluster.stats()) - before >= hot.length, "the hot keys came from the cache");
      }
    },
  );

  test.serial(
    `backends over ${arm.backends.toUpperCase()}: a multi-key get with one server stopped answers the others' values in the order asked, then one SERVER_ERROR and no END, and the next request on the connection is answered`,
    async (t) => {
      const cluster = arm.cluster;
      if (!cluster) throw new Error("no cluster");
      const keys = Array.from({ length: 24 }, (_, k) => `stopped-${i}-${k}`);
      await store(cluster, keys);
      const homes = libmemcachedHomes(
        cluster.backendPorts.map((port) => ({ host: "127.0.0.1", port })),
        keys,
      );
      const stopped = 1;
      t.true(homes.filter((h) => h === stopped).length >= 3, "the stopped server holds several of the keys");
      const live = keys.filter((_, k) => homes[k] !== stopped);
      const after = live[0] ?? "";
      const values = await serversAnswer(cluster.backendPorts, arm.ask, "get", live);
      const next = await serversAnswer(cluster.backendPorts, arm.ask, "get", [after]);
      const server = cluster.memcached[stopped];
      const c = new Conn(cluster.kvlbPort);
      server?.kill("SIGSTOP");
      try {
        c.send(`get ${keys.join(" ")}\r\nget ${after}\r\n`);
        const all = await c.until((r) => r.includes("SERVER_ERROR") && r.endsWith("END\r\n"), 10_000);
        t.true(all.startsWith(values), `the live servers' values first, in key order: ${JSON.stringify(all)}`);
        t.regex(all.slice(values.length), /^SERVER_ERROR [^\r\n]*\r\n/, "then one error line");
        t.is(count(all, "SERVER_ERROR"), 1, "one error line");
        t.true(all.endsWith(`\r\n${next}END\r\n`), "then the next request's reply");
        t.is(count(all, "END\r\n"), 1, "the failed get has no END");
      } finally {
        server?.kill("SIGCONT");
        c.destroy();
      }
    },
  );
}
