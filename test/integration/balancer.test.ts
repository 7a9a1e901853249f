// kvlb run in front of three real memcached servers: libmemcached's own client, ketama
// placement, multi-datagram values, multi-key gets, hot keys answered from the cache, writes
// that are never followed by stale reads, malformed datagrams, and a backend that dies.
import test from "ava";
import { execFileSync, execFile } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { portBase } from "../support/ports.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";

// kvlb answers every get, with its values or an error: nothing is left to a silence
const END = /(END|SERVER_ERROR[^\r]*)\r\n$/;
let cluster: Cluster;
let client: UdpClient;
const dir = mkdtempSync(join(tmpdir(), "kvlb-it-"));

test.before(async () => {
  cluster = await startCluster(portBase("balancer"), 3, ["--timeout", "300"]);
  client = new UdpClient(cluster.kvlbPort);
});
test.after.always(async () => {
  client?.close();
  await cluster?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(c: UdpClient, payload: string): Promise<string> {
  const m = await c.request(payload, END, 2000); // longer than kvlb's timeout (300 ms) and a health check
  return Buffer.concat(m.map((x) => x.payload)).toString("latin1");
}

// libmemcached decides where a key belongs, not kvlb's own ring
async function backendOf(key: string): Promise<number> {
  const [home = -1] = libmemcachedHomes(
    cluster.backendPorts.map((port) => ({ host: "127.0.0.1", port })),
    [key],
  );
  return Promise.resolve(home);
}

async function backendStat(port: number, name: string): Promise<number> {
  const c = new UdpClient(port);
  const text = Buffer.concat((await c.request("stats\r\n", END)).map((m) => m.payload)).toString();
  c.close();
  const m = new RegExp(`STAT ${name} (\\d+)`).exec(text);
  return Number(m?.[1] ?? NaN);
}

test.serial("memccp --udp sets through kvlb, gets return it, and each key sits on its ketama backend", async (t) => {
  const names = Array.from({ length: 12 }, (_, i) => `lm-key-${i}`);
  for (const name of names) writeFileSync(join(dir, name), `value of ${name}`);
  execFileSync("memccp", ["--udp", `--servers=127.0.0.1:${cluster.kvlbPort}`, ...names.map((n) => join(dir, n))]);
  for (const name of names) {
    t.is(
      await get(client, `get ${name}\r\n`),
      `VALUE ${name} 0 ${`value of ${name}`.length}\r\nvalue of ${name}\r\nEND\r\n`,
    );
    const home = await backendOf(name);
    for (const [i, port] of cluster.backendPorts.entries()) {
      const direct = new UdpClient(port);
      const reply = await get(direct, `get ${name}\r\n`);
      direct.close();
      t.is(reply.startsWith("VALUE"), i === home, `${name} on backend ${i}`);
    }
  }
});

test.serial("a 20 KB value comes back over several datagrams, byte for byte", async (t) => {
  const value = Buffer.alloc(20_000, 0).map((_, i) => 33 + ((i * 7) % 90));
  const set = Buffer.concat([Buffer.from(`set big 5 0 ${value.length}\r\n`), value, Buffer.from("\r\n")]);
  t.is(await client.text(set), "STORED\r\n");
  const messages = await client.request("get big\r\n", END);
  const joined = Buffer.concat(messages.map((m) => m.payload));
  const header = Buffer.from(`VALUE big 5 ${value.length}\r\n`);
  t.true(joined.subarray(0, header.length).equals(header));
  t.true(joined.subarray(header.length, header.length + value.length).equals(value));
  t.is(joined.subarray(header.length + value.length).toString(), "\r\nEND\r\n");
});

test.serial("a multi-key get across backends answers every key and one END", async (t) => {
  const keys = Array.from({ length: 9 }, (_, i) => `multi-${i}`);
  const homes = new Set(await Promise.all(keys.map(backendOf)));
  t.true(homes.size >= 2, "the keys span backends");
  for (const k of keys) t.is(await client.text(`set ${k} 0 0 ${k.length}\r\n${k}\r\n`), "STORED\r\n");
  const reply = await get(client, `get ${keys.join(" ")} missing-key\r\n`);
  for (const k of keys) t.true(reply.includes(`VALUE ${k} 0 ${k.length}\r\n${k}\r\n`), k);
  t.is(reply.match(/END\r\n/g)?.length, 1);
  t.true(reply.endsWith("END\r\n"));
});

test.serial("a hot key is answered from the cache: its backend's get_hits stays the same", async (t) => {
  t.is(await client.text("set hot-key 0 0 5\r\nhello\r\n"), "STORED\r\n");
  for (let i = 0; i < 200; i++) await get(client, "get hot-key\r\n");
  const port = cluster.backendPorts[await backendOf("hot-key")] ?? 0;
  const before = await backendStat(port, "get_hits");
  for (let i = 0; i < 100; i++) t.is(await get(client, "get hot-key\r\n"), "VALUE hot-key 0 5\r\nhello\r\nEND\r\n");
  t.is(await backendStat(port, "get_hits"), before);
  const messages = await client.request("get hot-key\r\n", END);
  t.is(messages.length, 1, "a cached get of one key is one message, VALUE and END together");
  await cluster.stats(); // a fresh report, which carries the hot keys too
  const hot = (await (await fetch(`http://127.0.0.1:${cluster.adminPort}/hotkeys`)).json()) as { key: string }[];
  t.true(hot.some((h) => h.key === "hot-key"));
});

test.serial("a set on a hot key, then a get, returns the new value", async (t) => {
  for (let round = 0; round < 20; round++) {
    const value = `v${round}-${"x".repeat(round)}`;
    t.is(await client.text(`set hot-key 0 0 ${value.length}\r\n${value}\r\n`), "STORED\r\n");
    t.is(await get(client, "get hot-key\r\n"), `VALUE hot-key 0 ${value.length}\r\n${value}\r\nEND\r\n`);
  }
  t.is(await client.text("delete hot-key\r\n"), "DELETED\r\n");
  t.is(await get(client, "get hot-key\r\n"), "END\r\n");
});

test.serial(
  "malformed datagrams are dropped or answered as memcached would, counted, and kvlb keeps serving",
  async (t) => {
    const before = (await cluster.stats()) as unknown as {
      drops: Record<string, number>;
      errors: Record<string, number>;
    };
    client.sendRaw(Buffer.from([1, 2, 3])); // short header
    client.sendRaw(client.frame("get a\r\n", 99, 2)); // total != 1
    client.sendRaw(client.frame(Buffer.alloc(60_000, 0x41))); // 60 KB of junk, no line end
    t.is(await client.text("frobnicate the cache\r\n"), "ERROR\r\n");
    t.is(await client.text(`get ${"k".repeat(251)}\r\n`), "CLIENT_ERROR bad command line format\r\n");
    const after = (await cluster.stats()) as unknown as typeof before;
    t.is((after.drops["frame"] ?? 0) - (before.drops["frame"] ?? 0), 2);
    t.is((after.drops["incomplete"] ?? 0) - (before.drops["incomplete"] ?? 0), 1);
    t.true((after.errors["unknownCommands"] ?? 0) > (before.errors["unknownCommands"] ?? 0));
    t.true((after.errors["clientErrors"] ?? 0) > (before.errors["clientErrors"] ?? 0));
    t.is(await client.text("set after-junk 0 0 2\r\nok\r\n"), "STORED\r\n");
    t.is(await get(client, "get after-junk\r\n"), "VALUE after-junk 0 2\r\nok\r\nEND\r\n");
  },
);

test.serial("/metrics is Prometheus text that agrees with /stats", async (t) => {
  for (let i = 0; i < 30; i++) await get(client, `get metrics-${i}\r\n`);
  const stats = await cluster.stats();
  const r = await fetch(`http://127.0.0.1:${cluster.adminPort}/metrics`);
  t.regex(r.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await r.text();
  t.regex(text, /^# TYPE kvlb_backend_requests_total counter$/m);
  t.regex(text, /^kvlb_process_cpu_seconds_total /m);
  cluster.backendPorts.forEach((port, i) => {
    const m = new RegExp(`^kvlb_backend_requests_total\\{backend="127\\.0\\.0\\.1:${port}"\\} (\\d+)$`, "m").exec(text);
    t.is(Number(m?.[1]), stats.backends[i]?.requests ?? -1, `backend ${port}`);
  });
  const keys = /^kvlb_core_events_total\{counter="keys"\} (\d+)$/m.exec(text);
  t.true(Number(keys?.[1]) >= 30);
});

test.serial(
  "kvlb stats, kvlb top and kvlb status show each backend's load, the hot keys and the data path",
  async (t) => {
    const kvlb = (...args: string[]): Promise<string> =>
      promisify(execFile)(process.execPath, ["bin/kvlb.js", ...args, "--admin", `127.0.0.1:${cluster.adminPort}`], {
        timeout: 20_000,
      }).then((r) => r.stdout);
    t.is(await client.text("set top-key 0 0 1\r\nx\r\n"), "STORED\r\n");
    let driving = true;
    const load = (async () => {
      for (let i = 0; driving; i++) await get(client, i % 4 === 0 ? `get top-miss-${i}\r\n` : "get top-key\r\n");
    })();
    const top = await kvlb("top", "--count", "3", "--interval", "600");
    driving = false;
    await load;
    const stats = await kvlb("stats");
    for (const port of cluster.backendPorts) {
      t.regex(stats, new RegExp(`^127\\.0\\.0\\.1:${port} +1 +[\\d,]+ +[\\d.]+%`, "m"));
      t.regex(top, new RegExp(`^127\\.0\\.0\\.1:${port} +[\\d,]+ +[\\d.]+% +[#.]{30}`, "m"));
    }
    t.regex(stats, /^cache +[\d.]+% of [\d,]+ keys answered by kvlb$/m);
    t.regex(top, /^top-key +[\d,]+ +L1$/m, "the hammered key is listed hot");
    t.regex(top, /^imbalance \(max share\/weight share\) \d+\.\d\d$/m);
    t.regex(top, /answered by kvlb (?!0\.0%)[\d.]+%/, "most gets of the hot key came from the cache");
    t.regex(stats, /^imbalance +\d+\.\d\d \(/m);
    t.regex(await kvlb("status"), /runs on kernel UDP sockets \(kvlb run\), without XDP/);
    const json = JSON.parse(await kvlb("stats", "--json")) as { backends: unknown[] };
    t.is(json.backends.length, 3);
    const down = await promisify(execFile)(process.execPath, ["bin/kvlb.js", "stats", "--admin", "127.0.0.1:1"]).catch(
      (e: { code: number; stderr: string }) => e,
    );
    t.like(down, {
      code: 2,
      stderr:
        "kvlb: 127.0.0.1:1: no kvlb admin API answers there (is kvlb run or kvlb attach up? pass --admin ADDR:PORT)\n",
    });
  },
);

test.serial("kvlb load drives a Zipf load through kvlb; its figures match what kvlb counted", async (t) => {
  const before = await cluster.stats();
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [
      "bin/kvlb.js",
      "load",
      "--target",
      `127.0.0.1:${cluster.kvlbPort}`,
      "--seconds",
      "2",
      "--keys",
      "300",
      "--preload",
    ],
    { timeout: 30_000 },
  );
  const m = /^([\d,]+) ops in [\d.]+ s: [\d,]+ ops\/s, .* gets ([\d.]+)% hit; 0 errors, (\d+) timeouts$/m.exec(stdout);
  t.truthy(m, stdout);
  const ops = Number((m?.[1] ?? "").replace(/,/g, ""));
  t.true(ops > 1000, `${ops} ops`);
  t.is(m?.[2], "100.0", "every key was preloaded, so every get hits");
  const after = (await cluster.stats()) as unknown as { keysObserved: number };
  const seen = after.keysObserved - (before as unknown as typeof after).keysObserved;
  // the preload sets its first key once alone (the check that something answers), then all 300
  if (m?.[3] === "0") t.is(seen, ops + 301, `kvlb saw ${seen} keys for ${ops} ops and 301 preload sets`);
  else t.true(seen >= ops + 301, `kvlb saw ${seen} keys for ${ops} ops and 301 preload sets`);
});

test.serial(
  "a killed backend: its keys get a timeout error or, once it is marked down, the next server's miss; the other keys are served",
  async (t) => {
    const victim = 2;
    const keys = Array.from({ length: 30 }, (_, i) => `kill-${i}`);
    const homes = await Promise.all(keys.map(backendOf));
    for (const k of keys) await client.text(`set ${k} 0 0 1\r\nx\r\n`);
    const dead = cluster.memcached[victim];
    const gone = new Promise((resolve) => dead?.once("exit", resolve));
    dead?.kill("SIGKILL");
    await gone; // its socket is closed: nothing it had in flight can still answer
    let answered = 0;
    const victimReplies = new Set<string>();
    for (const [i, k] of keys.entries()) {
      const reply = await get(client, `get ${k}\r\n`);
      if (homes[i] === victim) victimReplies.add(reply);
      else if (reply === `VALUE ${k} 0 1\r\nx\r\nEND\r\n`) answered++;
    }
    const onVictim = homes.filter((h) => h === victim).length;
    t.true(onVictim > 0);
    t.is(answered, keys.length - onVictim);
    for (const r of victimReplies) t.regex(r, /^(SERVER_ERROR backend timed out|END)\r\n$/, "its items died with it");
  },
);
