// kvlb run reads its config file again on SIGHUP, `kvlb reload` and POST /config, with real
// memcached servers behind it: added, reweighted and removed servers take effect without a
// restart, keys land where libmemcached's ketama puts them over the new list, a request in
// flight to a server that leaves is still answered, and a bad file changes nothing.
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { startCluster, type Cluster } from "../support/cluster.js";
import { portBase } from "../support/ports.js";
import { libmemcachedHomes, type OracleServer } from "../support/ketama-oracle.js";
import { UdpClient } from "../support/udp-client.js";
import { setToOwnNames } from "../support/cache-probe.js";
import { Conn } from "../support/tcp-conn.js";
import { until } from "../support/until.js";
import type { StatsView } from "../../host/control/stats-view.js";
import type { ReloadStatus } from "../../host/control/reload-status.js";

const run = promisify(execFile);
const base = portBase("reload");
let cluster: Cluster;
let dir: string;
let config: string;

/**
 * The config file: these backends (port, weight), and anything more. The health checks never
 * mark a server down here: a test stops a server to hold a request in flight, and a server marked
 * down would send that request's key to the next server on the ring before it ever left.
 */
function writeConfig(backends: [number, number][], more = "", timeoutMs = 10_000): void {
  const list = backends.map(([p, w]) => `  - { host: 127.0.0.1, port: ${p}, weight: ${w} }`).join("\n");
  const health = "health:\n  probeFailures: 100000\n  requestFailures: 100000\n";
  writeFileSync(config, `requests:\n  timeoutMs: ${timeoutMs}\n${health}backends:\n${list}\n${more}`);
}

const port = (i: number): number => base + i;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvlb-reload-"));
  config = join(dir, "kvlb.yaml");
  writeConfig([
    [port(0), 1],
    [port(1), 1],
  ]);
  cluster = await startCluster(base, 4, ["--config", config], 64, undefined, "udp", false);
});
test.after.always(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const stats = async (): Promise<StatsView> => (await cluster.stats()) as unknown as StatsView;
/** The reload counts /stats shows; a cluster started with --config always has them. */
async function reloads(): Promise<ReloadStatus> {
  const r = (await stats()).reload;
  if (r === undefined) throw new Error("/stats has no reload counts");
  return r;
}
const listed = async (): Promise<string[]> => (await stats()).backends.map((b) => `${b.backend}:${b.weight}`);
const reload = (): Promise<{ stdout: string; stderr: string }> =>
  run(process.execPath, ["bin/kvlb.js", "reload", "--admin", `127.0.0.1:${cluster.adminPort}`]);

/** Sets each key through kvlb, then asks every server for it: the index of the one holding it. */
async function placed(keys: readonly string[]): Promise<number[]> {
  await setToOwnNames(cluster.kvlbPort, keys);
  const holders: number[] = keys.map(() => -1);
  for (const [i, p] of cluster.backendPorts.entries()) {
    const direct = new UdpClient(p);
    try {
      for (const [j, k] of keys.entries()) {
        if ((await direct.text(`get ${k}\r\n`)).startsWith("VALUE")) holders[j] = holders[j] === -1 ? i : -2;
      }
    } finally {
      direct.close();
    }
  }
  return holders;
}

/** Where libmemcached puts the keys among `servers` (port, weight), as indexes of cluster ports. */
function homes(servers: [number, number][], keys: readonly string[]): number[] {
  const list: OracleServer[] = servers.map(([p, w]) => ({ host: "127.0.0.1", port: p, weight: w }));
  return libmemcachedHomes(list, keys).map((i) => cluster.backendPorts.indexOf(servers[i]?.[0] ?? -1));
}

test.serial(
  "SIGHUP after a server is added to the file: it is balanced to at once, every key where libmemcached puts it",
  async (t) => {
    const servers: [number, number][] = [
      [port(0), 1],
      [port(1), 1],
      [port(2), 1],
    ];
    writeConfig(servers);
    cluster.kvlb.kill("SIGHUP");
    await until("kvlb lists three backends", async () => (await listed()).length === 3);
    t.deepEqual(
      await listed(),
      servers.map(([p]) => `127.0.0.1:${p}:1`),
    );
    const keys = Array.from({ length: 60 }, (_, i) => `added-${i}`);
    t.deepEqual(await placed(keys), homes(servers, keys));
    t.regex(cluster.output(), /"msg":"reloaded"/);
    t.false(cluster.kvlb.exitCode !== null, "SIGHUP did not end kvlb");
  },
);

test.serial(
  "kvlb reload after a weight change prints what changed, and keys follow libmemcached's weighted ring",
  async (t) => {
    const servers: [number, number][] = [
      [port(0), 1],
      [port(1), 3],
      [port(2), 1],
    ];
    writeConfig(servers);
    const { stdout } = await reload();
    t.regex(stdout, /^reloaded: 3 backends, \d+ points on the ring\n/);
    t.regex(stdout, new RegExp(`reweighted 127\\.0\\.0\\.1:${port(1)} to 3`));
    t.regex(
      stdout,
      /keys that change owner: \d+\.\d% of the key space, in \d+ ranges \(127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+/,
    );
    const keys = Array.from({ length: 60 }, (_, i) => `weighted-${i}`);
    t.deepEqual(await placed(keys), homes(servers, keys));
  },
);

test.serial(
  "a file that does not load, or that changes a cache size, is refused with one line and nothing changes",
  async (t) => {
    const before = await listed();
    const counted = await reloads();
    writeFileSync(config, "backends: [\n");
    const bad = await t.throwsAsync(reload());
    const stderr = (bad as unknown as { stderr: string }).stderr;
    t.is(stderr.trim().split("\n").length, 1, stderr);
    t.regex(stderr, /kvlb\.yaml/);
    // a cache size sizes the workers' memory (and a server removed besides, which alone would do)
    writeConfig([[port(0), 1]], "cache:\n  l1Entries: 16\n");
    const r = await fetch(`http://127.0.0.1:${cluster.adminPort}/config`, { method: "POST" });
    t.is(r.status, 409);
    t.deepEqual(await r.json(), { error: "cache.l1Entries: a reload cannot change it; restart kvlb" });
    t.deepEqual(await listed(), before);
    t.like(await reloads(), { applied: counted.applied, refused: counted.refused + 2, last: { ok: false } });
    t.regex(cluster.output(), /"msg":"reload refused: nothing changed"/);
  },
);

test.serial(
  "a server removed while a request to it is in flight: the request is still answered, and the server gets no more",
  async (t) => {
    const servers: [number, number][] = [
      [port(0), 1],
      [port(1), 3],
      [port(2), 1],
      [port(3), 1],
    ];
    writeConfig(servers);
    await reload();
    const keys = Array.from({ length: 40 }, (_, i) => `leaving-${i}`);
    const where = await placed(keys);
    const key = keys[where.indexOf(3)];
    if (key === undefined) return t.fail("no key landed on the fourth server");
    // the server stops answering for a while: the get waits in flight
    const memcached = cluster.memcached[3];
    memcached?.kill("SIGSTOP");
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(`get ${key}\r\n`);
      await until("the get is in flight to the fourth server", async () => {
        const s = await stats();
        return (s.backends[3]?.outstanding ?? 0) > 0;
      });
      writeConfig(servers.slice(0, 3));
      const { stdout } = await reload();
      t.regex(stdout, new RegExp(`removed 127\\.0\\.0\\.1:${port(3)}: off the ring`));
      t.deepEqual(
        await listed(),
        ["0:1", "1:3", "2:1"].map((s) => `127.0.0.1:${base + Number(s[0])}${s.slice(1)}`),
      );
      // the client's get, and any ask of kvlb's own sent with it
      const retired = (await stats()).retired;
      t.deepEqual(
        retired.map((b) => b.backend),
        [`127.0.0.1:${port(3)}`],
      );
      t.true((retired[0]?.outstanding ?? 0) >= 1);
      memcached?.kill("SIGCONT");
      t.is(await c.until((s) => s.endsWith("END\r\n")), `VALUE ${key} 0 ${key.length}\r\n${key}\r\nEND\r\n`);
      await until("the retired server has drained", async () => (await stats()).retired.length === 0);
    } finally {
      memcached?.kill("SIGCONT");
      c.destroy();
    }
    // every key now lives on the three servers left, where libmemcached puts them
    const again = Array.from({ length: 40 }, (_, i) => `after-${i}`);
    t.deepEqual(await placed(again), homes(servers.slice(0, 3), again));
  },
);

test.serial(
  "a reload that narrows clients.allow stops answering loopback over UDP and TCP at once; widening it again restores them",
  async (t) => {
    const servers: [number, number][] = [
      [port(0), 1],
      [port(1), 1],
    ];
    const before = await reloads();
    writeConfig(servers, "clients:\n  allow: [10.99.0.0/16]\n");
    await reload();
    const u = new UdpClient(cluster.kvlbPort);
    try {
      t.deepEqual(await u.request("get anything\r\n", undefined, 500), [], "no answer over UDP");
    } finally {
      u.close();
    }
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send("get anything\r\n");
      await until("kvlb closes the TCP connection", () => c.isClosed);
      t.is(c.received, "");
    } finally {
      c.destroy();
    }
    writeConfig(servers);
    await reload();
    // both reloads are counted as applied, in /stats and in /metrics
    const after = await reloads();
    t.like(after, { applied: before.applied + 2, refused: before.refused, last: { ok: true } });
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.adminPort}/metrics`)).text();
    t.regex(metrics, new RegExp(`^kvlb_reloads_total\\{outcome="refused"\\} ${after.refused}$`, "m"));
    t.regex(metrics, new RegExp(`^kvlb_reloads_total\\{outcome="applied"\\} ${after.applied}$`, "m"));
    const again = new UdpClient(cluster.kvlbPort);
    try {
      t.is(await again.text("get anything\r\n"), "END\r\n");
    } finally {
      again.close();
    }
  },
);

test.serial(
  "a reload that shortens requests.timeoutMs and changes detector.imbalance is applied live: a get to a stopped server fails after the new timeout",
  async (t) => {
    const servers: [number, number][] = [
      [port(0), 1],
      [port(1), 1],
    ];
    writeConfig(servers, "detector:\n  imbalance: 1.5\n", 300);
    const { stdout } = await reload();
    t.regex(stdout, /^reloaded: 2 backends/);
    const keys = Array.from({ length: 20 }, (_, i) => `timeout-${i}`);
    const key = keys[homes(servers, keys).indexOf(0)];
    if (key === undefined) return t.fail("no key on the first server");
    const memcached = cluster.memcached[0];
    memcached?.kill("SIGSTOP");
    const c = new Conn(cluster.kvlbPort);
    try {
      const started = Date.now();
      c.send(`get ${key}\r\n`);
      const reply = await c.until((s) => s.includes("\r\n"), 8000);
      t.is(reply, "SERVER_ERROR backend timed out\r\n");
      t.true(
        Date.now() - started < 5000,
        `answered after ${Date.now() - started} ms, where the old timeout was 10,000`,
      );
    } finally {
      memcached?.kill("SIGCONT");
      c.destroy();
    }
  },
);
