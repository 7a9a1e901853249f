// npm run bench:migrate: what changing the cluster costs the database behind the cache. Under a
// steady cache-aside load (Zipf 0.99 gets over TCP, a set after each miss, as an application
// fills its cache), a server is added (3 -> 4) and, in another run, removed (4 -> 3), two ways:
//   restart  kvlb stopped and started again with the new list: what operators do today
//   reload   kvlb reload with migration.windowSeconds 0: the new ring without a restart, no migration
//   migrate  kvlb reload with a migration window: a moved key missing at its new server is read
//            from its old one and copied (docs/balancer.md, Live migration)
// Each run starts from the same state: every key stored on its server of the first ring. For each,
// the miss ratio over time (a chart: build/bench/migrate.svg), the misses and failed requests in the 5 s
// after the change, the backends' gets then against before, and throughput, as ratios from the
// same run. Every miss after the change is a request the database would have served.
// Settings: BENCH_SECONDS (after the change, default 6), BENCH_KEYS (default 20000).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { acceptsTcp, waitUntil } from "../util/accepts.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMemcached, stopProcesses } from "../testbed/memcached.js";
import { servedRequests } from "../testbed/memcached-stats.js";
import { makeKeys } from "../load/zipf.js";
import { CacheAsideLoad, type CacheAsideSample } from "../load/cache-aside.js";
import { loadCore } from "../core/loader.js";
import { setBackends, routeKey, type Backend } from "../core/backends.js";
import { count, table } from "../util/table.js";
import { migrateChart } from "./migrate-chart.js";
import { projectRoot } from "../util/paths.js";

const AFTER_S = Number(process.env["BENCH_SECONDS"] ?? 6);
const KEYS = Number(process.env["BENCH_KEYS"] ?? 20_000);
const BEFORE_S = 3;
const WINDOW_S = 5;
const INTERVAL_MS = 250;
const VALUE_BYTES = 100;
const BASE = 24311;
const KVLB_PORT = BASE + 20;
const ADMIN_PORT = BASE + 21;

type Way = "restart" | "reload" | "migrate";
const WAYS: readonly Way[] = ["restart", "reload", "migrate"];
type Change = "add" | "remove";

interface Run {
  way: Way;
  change: Change;
  samples: CacheAsideSample[];
  changedAt: number;
  /** The backends' gets and sets per second, before the change and in the window after it. */
  backendBefore: number;
  backendAfter: number;
}

const backendsOf = (ports: readonly number[]): Backend[] =>
  ports.map((port) => ({ host: "127.0.0.1", address: "127.0.0.1", port, weight: 1 }));

function writeConfig(file: string, ports: readonly number[], way: Way): void {
  const window = way === "migrate" ? 60 : 0;
  writeFileSync(
    file,
    `migration:\n  windowSeconds: ${window}\nbackends:\n${ports.map((p) => `  - 127.0.0.1:${p}\n`).join("")}`,
  );
}

function kvlbBin(): string {
  return join(projectRoot(), "bin/kvlb.js");
}

async function startKvlb(config: string): Promise<ChildProcess> {
  const p = spawn(
    process.execPath,
    [kvlbBin(), "run", "--config", config, "--listen", `127.0.0.1:${KVLB_PORT}`, "--admin", `127.0.0.1:${ADMIN_PORT}`],
    { stdio: "ignore" },
  );
  await waitUntil(() => acceptsTcp(ADMIN_PORT), "kvlb's admin API", 10_000);
  await waitUntil(() => acceptsTcp(KVLB_PORT), "kvlb's TCP listener", 10_000);
  return p;
}

async function reloadKvlb(): Promise<void> {
  const r = await fetch(`http://127.0.0.1:${ADMIN_PORT}/config`, { method: "POST" });
  if (!r.ok) throw new Error(`reload: ${JSON.stringify(await r.json())}`);
}

/** Sets every key on its server of `ports`' ring, straight over TCP, after emptying every server. */
async function preload(all: readonly number[], ports: readonly number[], keys: readonly string[]): Promise<void> {
  const ring = await loadCore();
  setBackends(ring, backendsOf(ports));
  const value = "v".repeat(VALUE_BYTES);
  await Promise.all(
    all.map(
      (port) =>
        new Promise<void>((resolve, reject) => {
          const i = ports.indexOf(port);
          const mine = i < 0 ? [] : keys.filter((k) => routeKey(ring, k) === i);
          const s = connect({ host: "127.0.0.1", port });
          let buf = "";
          s.setEncoding("latin1");
          s.on("data", (d: string) => {
            buf += d;
            if (buf.split("\r\n").length - 1 >= mine.length + 1) s.end();
          });
          s.on("close", () => resolve());
          s.on("error", reject);
          s.write("flush_all\r\n" + mine.map((k) => `set ${k} 0 0 ${VALUE_BYTES}\r\n${value}\r\n`).join(""));
        }),
    ),
  );
}

async function backendRate(ports: readonly number[], seconds: number): Promise<number> {
  const served = async (): Promise<number> =>
    (await Promise.all(ports.map((p) => servedRequests(p)))).reduce((a, b) => a + b, 0);
  const a = await served();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return ((await served()) - a) / seconds;
}

async function runOne(way: Way, change: Change, all: number[], keys: readonly string[], dir: string): Promise<Run> {
  const from = change === "add" ? all.slice(0, 3) : all;
  const to = change === "add" ? all : all.slice(0, 3);
  await preload(all, from, keys);
  const config = join(dir, `kvlb-${way}-${change}.yaml`);
  writeConfig(config, from, way);
  let kvlb = await startKvlb(config);
  try {
    const load = new CacheAsideLoad({
      port: KVLB_PORT,
      keys,
      zipf: 0.99,
      seed: 7,
      connections: 8,
      depth: 8,
      valueBytes: VALUE_BYTES,
      intervalMs: INTERVAL_MS,
    });
    const backendBefore = await backendRate(all, BEFORE_S);
    const changedAt = load.samples.length > 0 ? (load.samples[load.samples.length - 1]?.t ?? 0) : 0;
    writeConfig(config, to, way);
    if (way === "restart") {
      await stopProcesses([kvlb]);
      kvlb = await startKvlb(config);
    } else {
      await reloadKvlb();
    }
    const backendAfter = await backendRate(all, WINDOW_S);
    await new Promise((r) => setTimeout(r, Math.max(0, AFTER_S - WINDOW_S) * 1000));
    const samples = await load.stop();
    return { way, change, samples, changedAt, backendBefore, backendAfter };
  } finally {
    await stopProcesses([kvlb]);
  }
}

interface Summary {
  steadyMiss: number;
  windowMisses: number;
  windowMissRatio: number;
  peakMiss: number;
  windowFailed: number;
  steadyOps: number;
  windowOps: number;
}

function summarize(r: Run): Summary {
  const before = r.samples.filter((s) => s.t <= r.changedAt && s.t > 0.5);
  const window = r.samples.filter((s) => s.t > r.changedAt && s.t <= r.changedAt + WINDOW_S);
  const sum = (xs: CacheAsideSample[], f: (s: CacheAsideSample) => number): number => xs.reduce((a, s) => a + f(s), 0);
  const ratio = (xs: CacheAsideSample[]): number =>
    sum(xs, (s) => s.misses) /
    Math.max(
      1,
      sum(xs, (s) => s.gets),
    );
  return {
    steadyMiss: ratio(before),
    windowMisses: sum(window, (s) => s.misses),
    windowMissRatio: ratio(window),
    peakMiss: Math.max(0, ...window.map((s) => s.misses / Math.max(1, s.gets))),
    windowFailed: sum(window, (s) => s.failed),
    steadyOps: sum(before, (s) => s.gets) / Math.max(0.001, before.length * (INTERVAL_MS / 1000)),
    windowOps: sum(window, (s) => s.gets) / Math.max(0.001, window.length * (INTERVAL_MS / 1000)),
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;

async function main(): Promise<void> {
  const all = [BASE, BASE + 1, BASE + 2, BASE + 3];
  const dir = mkdtempSync(join(tmpdir(), "kvlb-bench-migrate-"));
  const servers = await startMemcached(all, 256, undefined, "both");
  try {
    const keys = makeKeys(KEYS, 16, 40, 11);
    console.log(
      `bench:migrate  cache-aside load: Zipf(0.99) gets over ${count(KEYS)} keys, a set after each miss, ` +
        `8 TCP connections x 8 in flight;\n               ${BEFORE_S} s steady, then the change, then ${AFTER_S} s; ` +
        `samples of ${INTERVAL_MS} ms`,
    );
    const runs: Run[] = [];
    for (const change of ["add", "remove"] as const) {
      for (const way of WAYS) {
        process.stdout.write(`  ${change} a server, ${way}...\n`);
        runs.push(await runOne(way, change, all, keys, dir));
      }
    }
    const rows = runs.map((r) => ({ r, s: summarize(r) }));
    console.log("");
    for (const line of table(
      [
        "",
        "miss before",
        `misses in ${WINDOW_S} s after`,
        "miss ratio then",
        "peak (250 ms)",
        "failed",
        "gets/s before",
        "gets/s after",
        "backend req/s before",
        "after",
      ],
      rows.map(({ r, s }) => [
        `${r.change} a server, ${r.way}`,
        pct(s.steadyMiss),
        count(s.windowMisses),
        pct(s.windowMissRatio),
        pct(s.peakMiss),
        count(s.windowFailed),
        count(s.steadyOps),
        count(s.windowOps),
        count(r.backendBefore),
        count(r.backendAfter),
      ]),
    ))
      console.log(line);
    console.log("");
    for (const change of ["add", "remove"] as const) {
      const of = (way: Way): Summary | undefined => rows.find((x) => x.r.change === change && x.r.way === way)?.s;
      const restart = of("restart");
      const reload = of("reload");
      const migrate = of("migrate");
      if (!restart || !reload || !migrate) continue;
      for (const [name, s] of [
        ["reload", reload],
        ["migrate", migrate],
      ] as const)
        console.log(
          `${change} a server: ${name} / restart, misses in the window ${(s.windowMisses / Math.max(1, restart.windowMisses)).toFixed(2)}x; ` +
            `failed requests ${s.windowFailed} vs ${restart.windowFailed}; ` +
            `throughput in the window ${(s.windowOps / Math.max(1, restart.windowOps)).toFixed(2)}x`,
        );
      const over = migrate.windowMissRatio - migrate.steadyMiss;
      console.log(
        `${change} a server, migrate: miss ratio in the window ${pct(migrate.windowMissRatio)} against ${pct(migrate.steadyMiss)} ` +
          `steady, ${(over * 100).toFixed(2)} points over (target: within 1): ${over <= 0.01 ? "met" : "not met"}`,
      );
    }
    const svg = await migrateChart(
      runs.map((r) => ({
        arm: `${r.change} a server, ${r.way}`,
        changedAt: r.changedAt,
        points: r.samples.map((s) => ({ t: s.t - r.changedAt, miss: s.misses / Math.max(1, s.gets) })),
      })),
    );
    const dirOut = join(projectRoot(), "build", "bench");
    mkdirSync(dirOut, { recursive: true });
    const out = join(dirOut, "migrate.svg");
    writeFileSync(out, svg);
    console.log(`chart: ${out}`);
  } finally {
    await servers.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(`bench:migrate: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
