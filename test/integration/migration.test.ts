// Live migration with real memcached servers: after a reload adds a server, a key whose ketama
// owner moved to it (libmemcached's ring is the oracle) is still served from its old server and
// copied to the new one; a client's write of a moved key removes it from the old server; with no
// window, the same keys miss. The servers themselves are asked what they hold.
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
import { askServer, setToOwnNames } from "../support/cache-probe.js";
import { Conn } from "../support/tcp-conn.js";
import memjs from "memjs";
import { detectorModules } from "../support/core.js";
import { until } from "../support/until.js";
import { runHistoryLoad } from "../support/history-load.js";
import type { StatsView } from "../../host/control/stats-view.js";

const run = promisify(execFile);
const base = portBase("migration");
let cluster: Cluster | undefined;
let dir: string;
const ports = [base, base + 1, base + 2];
let config: string;

/** The config: the first `servers` of the cluster's memcached servers, the window and the
 * background mover's rate (0: off, so that gets find the keys at their old servers). The health
 * checks never mark a server down: a test reads what each server holds, not failover. */
function writeConfig(servers: number, windowSeconds: number, copiesPerSecond = 0, tcpBackends = false): void {
  const list = ports
    .slice(0, servers)
    .map((p) => `  - { host: 127.0.0.1, port: ${p} }`)
    .join("\n");
  writeFileSync(
    config,
    (tcpBackends ? "tcp:\n  backends: true\n" : "") +
      `migration:\n  windowSeconds: ${windowSeconds}\n  copiesPerSecond: ${copiesPerSecond}\nhealth:\n  probeFailures: 100000\n  requestFailures: 100000\n` +
      `backends:\n${list}\n`,
  );
}

const homes = (servers: number, keys: readonly string[]): number[] => {
  const list: OracleServer[] = ports.slice(0, servers).map((port) => ({ host: "127.0.0.1", port }));
  return libmemcachedHomes(list, keys);
};

/** Where each key lives with two servers, and the keys whose server changes with three. */
function ringsOf(keys: readonly string[]): { before: number[]; moved: string[] } {
  const before = homes(2, keys);
  const after = homes(3, keys);
  return { before, moved: keys.filter((_, i) => before[i] !== after[i]) };
}

function running(): Cluster {
  if (!cluster) throw new Error("no cluster is running");
  return cluster;
}
const reload = (): Promise<{ stdout: string }> =>
  run(process.execPath, ["bin/kvlb.js", "reload", "--admin", `127.0.0.1:${running().adminPort}`]);
const stats = async (): Promise<StatsView> => (await running().stats()) as unknown as StatsView;

/** What server i answers for `get key`, straight from it. */
const direct = (i: number, key: string): Promise<string> => askServer(ports[i] ?? 0, `get ${key}\r\n`);

/** Sets each key to its own name through kvlb. */
const preload = (keys: readonly string[]): Promise<void> => setToOwnNames(running().kvlbPort, keys);

/** Each key's reply to a get over TCP through kvlb, one at a time. */
async function getAll(keys: readonly string[]): Promise<string[]> {
  const c = new Conn(running().kvlbPort);
  try {
    const out: string[] = [];
    for (const k of keys) {
      const before = c.received.length;
      c.send(`get ${k}\r\n`);
      const all = await c.until((s) => s.length > before && s.endsWith("END\r\n"));
      out.push(all.slice(before));
    }
    return out;
  } finally {
    c.destroy();
  }
}

const value = (k: string): string => `VALUE ${k} 0 ${k.length}\r\n${k}\r\nEND\r\n`;

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), "kvlb-migration-"));
  config = join(dir, "kvlb.yaml");
});
test.afterEach.always(async () => {
  await cluster?.stop();
  cluster = undefined;
});
test.after.always(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Fresh memcached servers (over UDP, and TCP too for the mover's key lists), and kvlb on the
 * first two of them with this window and mover. */
async function startWithTwo(windowSeconds: number, copiesPerSecond = 0, tcpBackends = false): Promise<void> {
  writeConfig(2, windowSeconds, copiesPerSecond, tcpBackends);
  cluster = await startCluster(
    base,
    3,
    ["--config", config],
    64,
    undefined,
    copiesPerSecond > 0 || tcpBackends ? "both" : "udp",
    false,
  );
}

test.serial(
  "a server added with a window: every moved key is served from its old server, then found copied on its new one",
  async (t) => {
    await startWithTwo(30);
    const keys = Array.from({ length: 120 }, (_, i) => `mig-${i}`);
    await preload(keys);
    const { moved } = ringsOf(keys);
    t.true(moved.length > 10, `${moved.length} keys moved`);
    // nothing is on the new server yet
    t.is(await direct(2, moved[0] ?? ""), "END\r\n");
    writeConfig(3, 30);
    const { stdout } = await reload();
    t.regex(stdout, /migrating: for 30 s/);
    t.deepEqual(await getAll(keys), keys.map(value), "no key missed");
    await until("every moved key is copied to its new server", async () => {
      for (const k of moved) if ((await direct(2, k)) !== value(k)) return false;
      return true;
    });
    const s = await stats();
    t.true(s.migration.open);
    t.true(s.migration.fallbacks >= moved.length, `${s.migration.fallbacks} fallbacks`);
    t.true(s.migration.copied >= moved.length, `${s.migration.copied} copies`);
    // what an operator sees: kvlb stats, and /metrics
    const printed = (
      await run(process.execPath, ["bin/kvlb.js", "stats", "--admin", `127.0.0.1:${running().adminPort}`])
    ).stdout;
    t.regex(
      printed,
      /^migration {2}window open: [\d,]+ gets answered by a moved key's old server, [\d,]+ keys copied/m,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${running().adminPort}/metrics`)).text();
    t.regex(metrics, /^kvlb_migration_open 1$/m);
    t.regex(metrics, /^kvlb_migration_events_total\{event="copied"\} [1-9]\d*$/m);
    const top = (
      await run(process.execPath, [
        "bin/kvlb.js",
        "top",
        "--count",
        "2",
        "--interval",
        "300",
        "--admin",
        `127.0.0.1:${running().adminPort}`,
      ])
    ).stdout;
    t.regex(top, /^migrating {2}[\d,]+\/s gets from old servers, [\d,]+\/s keys copied \([\d,]+ in all\)/m);
    // a second round hits the new server: no more fallbacks
    t.deepEqual(await getAll(moved), moved.map(value));
    t.is((await stats()).migration.fallbacks, s.migration.fallbacks);
  },
);

for (const tcpBackends of [false, true])
  test.serial(
    `during the window every read answers a moved key with its old server's value: get and gets of many keys (raw TCP, in order; UDP; pymemcache's get_many), gat and gats, mg (with q and mn) and binary gets (memjs) (backends over ${tcpBackends ? "TCP" : "UDP"})`,
    async (t) => {
      await startWithTwo(30, 0, tcpBackends);
      const keys = Array.from({ length: 280 }, (_, i) => `mk-${i}`);
      const groups = 7;
      await preload(keys);
      const movedSet = new Set(ringsOf(keys).moved);
      const isMoved = (k: string): boolean => movedSet.has(k);
      // a group of keys per client: each asks for its moved keys before anything copied them
      const size = keys.length / groups;
      const group = (g: number): string[] => keys.slice(g * size, g * size + size);
      for (let g = 0; g < groups; g++) t.true(group(g).filter(isMoved).length > 5, `group ${g} has moved keys`);
      writeConfig(3, 30, 0, tcpBackends);
      await reload();
      const c = new Conn(running().kvlbPort);
      try {
        c.send(`get ${group(0).join(" ")}\r\n`);
        const got = await c.until((s) => s.endsWith("END\r\n"));
        t.is(
          got,
          group(0)
            .map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\n`)
            .join("") + "END\r\n",
          "TCP get, in order",
        );
        const before2 = c.received.length;
        c.send(`gets ${group(2).join(" ")}\r\n`);
        const gets = (await c.until((s) => s.length > before2 && s.endsWith("END\r\n"))).slice(before2);
        const pattern = group(2)
          .map((k) => `VALUE ${k} 0 ${k.length} \\d+\r\n${k}\r\n`)
          .join("");
        t.regex(gets, new RegExp(`^${pattern}END\r\n$`), "TCP gets, in order, each with a cas unique");
        // mg, pipelined: every other one quiet, which hides a miss and shows a hit; mn ends them
        const before4 = c.received.length;
        c.send(
          group(4)
            .map((k, i) => `mg ${k} v${i % 2 === 1 ? " q" : ""}\r\n`)
            .join("") + "mn\r\n",
        );
        const mg = (await c.until((s) => s.length > before4 && s.endsWith("MN\r\n"))).slice(before4);
        t.is(
          mg,
          group(4)
            .map((k) => `VA ${k.length}\r\n${k}\r\n`)
            .join("") + "MN\r\n",
          "mg, in order",
        );
        // gat of many keys, then gats of one: each touches the key wherever it is found
        const before6 = c.received.length;
        const [single = "", ...many] = group(6);
        c.send(`gat 600 ${many.join(" ")}\r\ngats 600 ${single}\r\n`);
        const gat = (await c.until((s) => s.slice(before6).split("END\r\n").length === 3)).slice(before6);
        const gatValues = many.map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\n`).join("");
        const gatsValue = `VALUE ${single} 0 ${single.length} \\d+\r\n${single}\r\n`;
        t.regex(gat, new RegExp(`^${gatValues}END\r\n${gatsValue}END\r\n$`), "gat and gats");
      } finally {
        c.destroy();
      }
      const u = new UdpClient(running().kvlbPort);
      try {
        // the reply's messages, up to the one that ends in END (a value may end in digits)
        const messages = await u.request(`get ${group(1).join(" ")}\r\n`, /END\r\n$/);
        const reply = messages.map((m) => m.payload.toString("latin1")).join("");
        const values = [...reply.matchAll(/^VALUE (\S+) 0 \d+\r\n(\S+)\r\n/gm)].map((m) => `${m[1]}=${m[2]}`);
        t.deepEqual(
          values.sort(),
          group(1)
            .map((k) => `${k}=${k}`)
            .sort(),
          "UDP get, every key",
        );
      } finally {
        u.close();
      }
      const script = `
from pymemcache.client.base import Client
c = Client(("127.0.0.1", ${running().kvlbPort}), connect_timeout=2, timeout=5)
keys = ${JSON.stringify(group(3))}
got = c.get_many(keys)
missing = [k for k in keys if got.get(k) != k.encode()]
print("missing", len(missing), " ".join(missing))
`;
      const { stdout } = await run("/usr/bin/python3", ["-c", script]);
      t.is(stdout.trim(), "missing 0", "pymemcache's get_many");
      const client = memjs.Client.create(`127.0.0.1:${running().kvlbPort}`, { retries: 0, timeout: 2 });
      try {
        const values = await Promise.all(group(5).map(async (k) => (await client.get(k)).value?.toString()));
        t.deepEqual(values, group(5), "memjs (binary) gets");
      } finally {
        client.close();
      }
      const moved = keys.filter(isMoved).length;
      const { fallbacks } = (await stats()).migration;
      t.true(fallbacks >= moved, `${fallbacks} gets answered by old servers for ${moved} moved keys`);
    },
  );

test.serial(
  "during the window a write of a moved key goes to its new server and removes it from the old; a delete leaves a miss",
  async (t) => {
    await startWithTwo(30);
    const keys = Array.from({ length: 120 }, (_, i) => `mw-${i}`);
    await preload(keys);
    const { before, moved } = ringsOf(keys);
    const [written, deleted] = moved;
    if (written === undefined || deleted === undefined) return t.fail("fewer than two keys moved");
    const oldOf = (k: string): number => before[keys.indexOf(k)] ?? -1;
    writeConfig(3, 30);
    await reload();
    const c = new Conn(running().kvlbPort);
    try {
      c.send(`set ${written} 0 0 3\r\nnew\r\ndelete ${deleted}\r\n`);
      await c.until((s) => s === "STORED\r\nDELETED\r\n" || s === "STORED\r\nNOT_FOUND\r\n");
    } finally {
      c.destroy();
    }
    t.is(await direct(2, written), `VALUE ${written} 0 3\r\nnew\r\nEND\r\n`);
    await until("the old servers no longer hold either key", async () => {
      return (
        (await direct(oldOf(written), written)) === "END\r\n" && (await direct(oldOf(deleted), deleted)) === "END\r\n"
      );
    });
    t.deepEqual(await getAll([written, deleted]), [`VALUE ${written} 0 3\r\nnew\r\nEND\r\n`, "END\r\n"]);
    t.true((await stats()).migration.oldDeletes >= 2);
  },
);

test.serial(
  "a module swap to another detector during the window keeps it open: moved keys are still served from their old servers",
  async (t) => {
    await startWithTwo(30);
    const keys = Array.from({ length: 120 }, (_, i) => `swapmig-${i}`);
    await preload(keys);
    const { moved } = ringsOf(keys);
    writeConfig(3, 30);
    await reload();
    const { stdout } = await run(process.execPath, [
      "bin/kvlb.js",
      "swap",
      detectorModules["space-saving"],
      "--admin",
      `127.0.0.1:${running().adminPort}`,
    ]);
    t.regex(stdout, /^swapped to space-saving/);
    t.true((await stats()).migration.open, "the window is still open");
    t.deepEqual(await getAll(moved), moved.map(value), "no moved key missed");
    t.true((await stats()).migration.fallbacks >= moved.length);
  },
);

test.serial("a server added with no window: the moved keys miss, as they did before live migration", async (t) => {
  await startWithTwo(0);
  const keys = Array.from({ length: 120 }, (_, i) => `nomig-${i}`);
  await preload(keys);
  const { moved } = ringsOf(keys);
  writeConfig(3, 0);
  const { stdout } = await reload();
  t.notRegex(stdout, /migrating/);
  const replies = await getAll(keys);
  keys.forEach((k, i) => t.is(replies[i], moved.includes(k) ? "END\r\n" : value(k), k));
  t.is((await stats()).migration.fallbacks, 0);
});

test.serial(
  "8 clients read and write moved keys across a reload that adds a server: no read is stale, and no acknowledged write is lost",
  async (t) => {
    await startWithTwo(30);
    const candidates = Array.from({ length: 200 }, (_, i) => `hist-mig-${i}`);
    const all = ringsOf(candidates).moved;
    const moved = all.slice(0, 6);
    const stayed = candidates.filter((k) => !all.includes(k)).slice(0, 2);
    const load = { clients: 8, opsPerClient: 600, keys: [...moved, ...stayed], writeShare: 0.3 };
    const r = await runHistoryLoad(running().kvlbPort, "127.0.0.1", load, async () => {
      writeConfig(3, 30);
      await reload();
    });
    t.true(r.unanswered < 20, `${r.unanswered} requests went unanswered`);
    t.deepEqual(r.violations.slice(0, 5), [], `${r.violations.length} of ${r.reads} reads broke consistency`);
    const s = await stats();
    t.true(s.migration.oldDeletes > 0, "writes of moved keys deleted them at their old servers");
    t.true(s.migration.fallbacks > 0, "gets of moved keys were answered by their old servers");
  },
);

test.serial(
  "the background mover lists the old servers' keys and copies every moved key with no get of it; then the window closes",
  async (t) => {
    await startWithTwo(30, 2000);
    const keys = Array.from({ length: 300 }, (_, i) => `mover-${i}`);
    await preload(keys);
    const { moved } = ringsOf(keys);
    writeConfig(3, 30, 2000);
    await reload();
    await until(
      "every moved key is on its new server, though no client asked for it",
      async () => {
        for (const k of moved) if ((await direct(2, k)) !== value(k)) return false;
        return true;
      },
      10_000,
    );
    await until("the window closes once the mover is done", async () => !(await stats()).migration.open, 10_000);
    t.regex(running().output(), /"msg":"migration: done; every moved key was offered to its new server/);
    const s = await stats();
    t.is(s.migration.fallbacks, 0, "no get was needed");
    t.true(s.migration.copied >= moved.length, `${s.migration.copied} copies for ${moved.length} moved keys`);
    // the mover's progress, as an operator sees it
    const last = s.migration.last;
    t.like(last?.mover, {
      state: "done",
      serversListed: 2,
      servers: 2,
      keysFound: moved.length,
      keysHanded: moved.length,
    });
    t.true(
      (last?.ranges ?? 0) > 0 && (last?.share ?? 0) > 0.2 && (last?.share ?? 1) < 0.5,
      "about a third of the keys",
    );
    const printed = (
      await run(process.execPath, ["bin/kvlb.js", "stats", "--admin", `127.0.0.1:${running().adminPort}`])
    ).stdout;
    t.regex(
      printed,
      new RegExp(
        `^ +[\\d,]+ ranges \\([\\d.]+% of the keys\\) moved; mover done: ${moved.length} of ${moved.length} moved keys handed`,
        "m",
      ),
    );
    const metrics = await (await fetch(`http://127.0.0.1:${running().adminPort}/metrics`)).text();
    t.regex(metrics, new RegExp(`^kvlb_migration_mover_keys\\{state="handed"\\} ${moved.length}$`, "m"));
    t.regex(metrics, /^kvlb_migration_ranges [1-9]\d*$/m);
  },
);
