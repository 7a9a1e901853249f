// npm run bench:tcp: TCP clients, as most memcached users have them. The same load (pipelined
// gets over many connections, Zipf 0.99, 5% sets) goes, in one run and in alternating order:
//   direct     straight to three memcached servers, the client hashing with ketama
//   twemproxy  through nutcracker (ketama, md5), the TCP proxy memcached users run today
//   off        through kvlb with its cache off and no replicas (its backends over UDP)
//   offTcp     the same, its backends over TCP (tcp.backends), as twemproxy reaches them
//   on         through kvlb on its defaults (cache and replicas)
//   onTcp      the same, its backends over TCP
// For each: throughput, p50 and p99, and the proxy's CPU per request (its process for
// nutcracker, kvlb's worker thread for kvlb), so that the proxies compare per CPU even when the
// load generator, which shares the machine, is the limit.
// These machines are noisy (the same arm varies by 20% from one run to the next), so each ratio is
// taken within a round, between arms measured seconds apart, and the median of the rounds is
// printed with their range.
// Settings: BENCH_SECONDS (per arm, default 4), BENCH_ROUNDS (default 4), BENCH_CONNECTIONS
// (default 16), BENCH_DEPTH (requests in flight per connection, default 8), BENCH_PORT, BENCH_ARMS
// (a comma list of arms to run, for profiling one).
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { acceptsTcp, waitUntil } from "../util/accepts.js";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startMemcached, stopProcesses } from "../testbed/memcached.js";
import { startBalancer } from "../balancer/balancer.js";
import { makeKeys } from "../load/zipf.js";
import { tcpLoad, type TcpLoadResult, type TcpTarget } from "../load/tcp-load.js";
import { loadCore } from "../core/loader.js";
import { setBackends, routeKey } from "../core/backends.js";
import { processCpuSeconds, threadCpuSeconds } from "./cpu-time.js";
import { DEFAULT_TCP, DEFAULT_BACKEND_CONNECTIONS } from "../config/run-config.js";
import { cacheOff } from "../load/phases.js";
import type { CoreConfig } from "../core/config.js";
import { count, table } from "../util/table.js";

const SECONDS = Number(process.env["BENCH_SECONDS"] ?? 4);
const ROUNDS = Number(process.env["BENCH_ROUNDS"] ?? 4);
const CONNECTIONS = Number(process.env["BENCH_CONNECTIONS"] ?? 16);
const DEPTH = Number(process.env["BENCH_DEPTH"] ?? 8);
const PORT = Number(process.env["BENCH_PORT"] ?? 23411);
const KEYS = 10_000;
const VALUE_BYTES = 100;
const SETS = 0.05;

type Arm = "direct" | "twemproxy" | "off" | "offTcp" | "on" | "onTcp";
const ALL_ARMS: readonly Arm[] = ["direct", "twemproxy", "off", "offTcp", "on", "onTcp"];
// BENCH_ARMS=off,twemproxy runs only those (to profile one); the ratios need all of them
const ARMS: readonly Arm[] = process.env["BENCH_ARMS"]
  ? ALL_ARMS.filter((a) => (process.env["BENCH_ARMS"] ?? "").split(",").includes(a))
  : ALL_ARMS;
const armText: Record<Arm, string> = {
  direct: "direct (client ketama)",
  twemproxy: "twemproxy (nutcracker)",
  off: "kvlb, cache off",
  offTcp: "kvlb, cache off, TCP backends",
  on: "kvlb, defaults",
  onTcp: "kvlb, defaults, TCP backends",
};

interface Sample {
  load: TcpLoadResult;
  /** CPU seconds the proxy used per second of the run (cores), 0 for direct. */
  proxyCores: number;
  /** CPU seconds the load generator's thread used per second. */
  generatorCores: number;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

async function startNutcracker(dir: string, ports: readonly number[], listen: number): Promise<ChildProcess> {
  const config = join(dir, "nutcracker.yml");
  writeFileSync(
    config,
    [
      "kvlb_bench:",
      `  listen: 127.0.0.1:${listen}`,
      "  hash: md5",
      "  distribution: ketama",
      "  timeout: 1000",
      "  servers:",
      ...ports.map((p) => `    - 127.0.0.1:${p}:1`),
      "",
    ].join("\n"),
  );
  const p = spawn("nutcracker", ["-c", config, "-s", String(listen + 1), "-o", join(dir, "nutcracker.log")], {
    stdio: "ignore",
  });
  await waitUntil(() => acceptsTcp(listen), "nutcracker", 5000);
  return p;
}

/** Sets every key at its own server, over TCP, before the arms run. */
async function preload(
  ports: readonly number[],
  home: (key: string) => number,
  keys: readonly string[],
): Promise<void> {
  const value = "x".repeat(VALUE_BYTES);
  await Promise.all(
    ports.map(
      (port, i) =>
        new Promise<void>((resolve, reject) => {
          const mine = keys.filter((k) => home(k) === i);
          const s = connect({ host: "127.0.0.1", port });
          let stored = 0;
          let buf = "";
          s.setEncoding("latin1");
          s.on("data", (d: string) => {
            buf += d;
            stored = buf.split("STORED\r\n").length - 1;
            if (stored >= mine.length) s.end();
          });
          s.on("close", () => resolve());
          s.on("error", reject);
          s.write(mine.map((k) => `set ${k} 0 0 ${VALUE_BYTES}\r\n${value}\r\n`).join(""));
          if (mine.length === 0) s.end();
        }),
    ),
  );
}

async function main(): Promise<void> {
  const ports = [PORT, PORT + 1, PORT + 2];
  const dir = mkdtempSync(join(tmpdir(), "kvlb-bench-tcp-"));
  const servers = await startMemcached(ports, 64, undefined, "both");
  const stopAll: (() => Promise<void>)[] = [() => servers.stop()];
  try {
    const keys = makeKeys(KEYS, 16, 40, 7);
    const ring = await loadCore();
    setBackends(
      ring,
      ports.map((port) => ({ host: "127.0.0.1", address: "127.0.0.1", port, weight: 1 })),
    );
    const homes = new Map(keys.map((k) => [k, routeKey(ring, k)]));
    const home = (k: string): number => homes.get(k) ?? 0;
    console.log(
      `bench:tcp  ${ROUNDS} rounds of ${SECONDS} s per arm; 3 memcached servers; Zipf(0.99) over ${count(KEYS)} keys, ` +
        `${VALUE_BYTES}-byte values, ${SETS * 100}% sets;\n` +
        `           load: ${CONNECTIONS} TCP connections x ${DEPTH} requests in flight, from one Node thread`,
    );
    await preload(ports, home, keys);
    const nutcracker = await startNutcracker(dir, ports, PORT + 10);
    stopAll.push(() => stopProcesses([nutcracker]));
    const backends = ports.map((port) => ({ host: "127.0.0.1", address: "127.0.0.1", port, weight: 1 }));
    const kvlb = async (
      core: Partial<CoreConfig>,
      tcpBackends = false,
    ): Promise<Awaited<ReturnType<typeof startBalancer>>> => {
      const b = await startBalancer({
        core,
        backends,
        listen: { address: "127.0.0.1", port: 0 },
        backendBind: "127.0.0.1",
        tcp: DEFAULT_TCP,
        ...(tcpBackends ? { backendTcp: { connections: DEFAULT_BACKEND_CONNECTIONS } } : {}),
      });
      stopAll.push(() => b.stop());
      return b;
    };
    const off = await kvlb({ ...cacheOff({}), replicaKeys: 0 });
    const offTcp = await kvlb({ ...cacheOff({}), replicaKeys: 0 }, true);
    const on = await kvlb({});
    const onTcp = await kvlb({}, true);
    const listenOf = { off, offTcp, on, onTcp };
    const one = (port: number): TcpTarget[] => [{ address: "127.0.0.1", port }];
    const runArm = async (arm: Arm, seed: number): Promise<Sample> => {
      const spec = { keys, zipf: 0.99, sets: SETS, valueBytes: VALUE_BYTES, seed, seconds: SECONDS, depth: DEPTH };
      // the generator is this process's main thread; the kvlb under load, its busiest other
      // thread (the rest are idle workers and V8's and libuv's helpers)
      const threadsBefore = threadCpuSeconds(process.pid);
      const proxyBefore = arm === "twemproxy" ? processCpuSeconds([nutcracker.pid ?? 0]) : 0;
      const started = Date.now();
      const load =
        arm === "direct"
          ? await tcpLoad({
              ...spec,
              targets: ports.map((p) => ({ address: "127.0.0.1", port: p })),
              route: home,
              connections: Math.max(1, Math.round(CONNECTIONS / ports.length)),
            })
          : await tcpLoad({
              ...spec,
              targets: one(arm === "twemproxy" ? PORT + 10 : listenOf[arm].ports.listen),
              route: () => 0,
              connections: CONNECTIONS,
            });
      const seconds = (Date.now() - started) / 1000;
      const threadsAfter = threadCpuSeconds(process.pid);
      const used = (tid: number): number => (threadsAfter.get(tid) ?? 0) - (threadsBefore.get(tid) ?? 0);
      const busiestWorker = Math.max(0, ...[...threadsAfter.keys()].filter((t) => t !== process.pid).map(used));
      const proxy =
        arm === "twemproxy"
          ? processCpuSeconds([nutcracker.pid ?? 0]) - proxyBefore
          : arm === "direct"
            ? 0
            : busiestWorker;
      return { load, proxyCores: proxy / seconds, generatorCores: used(process.pid) / seconds };
    };
    const samples = new Map<Arm, Sample[]>(ARMS.map((a) => [a, []]));
    // warm kvlb's hot set before anything is measured
    for (const arm of ["on", "onTcp"] as const) if (ARMS.includes(arm)) await runArm(arm, 99);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? ARMS : [...ARMS].reverse();
      for (const arm of order) {
        process.stdout.write(`  round ${round + 1} of ${ROUNDS}: ${armText[arm]}...\n`);
        samples.get(arm)?.push(await runArm(arm, round));
      }
    }
    report(samples);
  } finally {
    for (const stop of stopAll.reverse()) await stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

function report(samples: Map<Arm, Sample[]>): void {
  const of = (arm: Arm): Sample[] => samples.get(arm) ?? [];
  const ops = (arm: Arm): number => mean(of(arm).map((s) => s.load.opsPerSecond));
  const cores = (arm: Arm): number => mean(of(arm).map((s) => s.proxyCores));
  const perCpu = (arm: Arm): number => ops(arm) / Math.max(cores(arm), 1e-9);
  const usPerRequest = (arm: Arm): number => (cores(arm) * 1e6) / Math.max(ops(arm), 1);
  const errors = ARMS.reduce((a, arm) => a + of(arm).reduce((b, s) => b + s.load.errors, 0), 0);
  console.log("");
  for (const line of table(
    ["", "ops/s", "p50 µs", "p99 µs", "proxy CPU", "proxy µs/request", "ops per proxy CPU-s"],
    ARMS.map((arm) => [
      armText[arm],
      count(ops(arm)),
      count(mean(of(arm).map((s) => s.load.p50Us))),
      count(mean(of(arm).map((s) => s.load.p99Us))),
      arm === "direct" ? "-" : `${(cores(arm) * 100).toFixed(0)}%`,
      arm === "direct" ? "-" : usPerRequest(arm).toFixed(1),
      arm === "direct" ? "-" : count(perCpu(arm)),
    ]),
  ))
    console.log(line);
  const generator = Math.max(...ARMS.map((arm) => mean(of(arm).map((s) => s.generatorCores))));
  console.log("");
  // a ratio is printed only when both of its arms ran (BENCH_ARMS may name a few); it is taken
  // in each round, between arms that ran seconds apart, and the rounds' median is printed
  const ran = (...arms: Arm[]): boolean => arms.every((a) => of(a).length > 0);
  const perCpuOf = (s: Sample): number => s.load.opsPerSecond / Math.max(s.proxyCores, 1e-9);
  const usOf = (s: Sample): number => (s.proxyCores * 1e6) / Math.max(s.load.opsPerSecond, 1);
  const ratios: [string, Arm, Arm, (s: Sample) => number][] = [
    ["kvlb cache off / twemproxy, throughput per proxy CPU  ", "off", "twemproxy", perCpuOf],
    ["kvlb cache off / twemproxy, throughput                ", "off", "twemproxy", (s) => s.load.opsPerSecond],
    ["kvlb cache off, TCP backends / twemproxy, per proxy CPU", "offTcp", "twemproxy", perCpuOf],
    ["kvlb cache off, TCP backends / twemproxy, throughput  ", "offTcp", "twemproxy", (s) => s.load.opsPerSecond],
    ["kvlb defaults / cache off, CPU per request            ", "on", "off", usOf],
    ["the same, both with TCP backends                      ", "onTcp", "offTcp", usOf],
    ["kvlb defaults / direct, throughput                    ", "on", "direct", (s) => s.load.opsPerSecond],
  ];
  for (const [what, a, b, figure] of ratios) {
    if (!ran(a, b)) continue;
    const perRound = of(a).map((s, i) => figure(s) / Math.max(figure(of(b)[i] ?? s), 1e-9));
    const range = `rounds ${Math.min(...perRound).toFixed(2)}-${Math.max(...perRound).toFixed(2)}`;
    console.log(`${what} ${median(perRound).toFixed(2)}x  (median of ${perRound.length}; ${range})`);
  }
  console.log(
    `the load generator's thread used up to ${(generator * 100).toFixed(0)}% of a CPU` +
      (generator > 0.85 ? ": it was the limit, so compare the proxies by CPU per request" : ""),
  );
  console.log(`errors over all arms: ${errors}`);
}

main().catch((e: unknown) => {
  console.error(`bench:tcp: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
