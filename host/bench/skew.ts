// npm run bench:skew: what kvlb is for. N real memcached servers, each held to a small share of
// a CPU (a cgroup), so that they, not kvlb or the load generator, are what saturates; an
// open-loop load of YCSB workloads over Zipf(θ) keys; and for each arm, the highest offered rate
// whose p99 latency stays under the SLO with next to nothing lost:
//   ketama   a client hashing with libmemcached's ketama straight to the backends (today's way)
//   off      through kvlb with its cache off and no replicas (ketama in kvlb, the same placement)
//   copies   through kvlb with its cache off and hot-key replication: what the copies alone do
//   on       through kvlb with its cache on (the adaptive hot set keeps the backends under 1.1)
//   replicas through kvlb on its defaults: the cache plus hot-key replication
// The arms step their offered rate up together, one after the other at each rate, so that the
// machine's drift falls on each alike, until each breaks the SLO; the step that broke it says
// what the limit was
// (a backend's cgroup throttling it, kvlb's thread at a full CPU, or the generator falling
// behind its own schedule), and a run where the backends were not the limit is not reported as
// a ratio. Ratios are against the ketama arm of the same run. Then a hot-set shift: the time the
// backends' imbalance takes to come back, and a chart (SVG) of both.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMemcached } from "../testbed/memcached.js";
import { CpuCap } from "../testbed/cpu-cap.js";
import { servedByEach, settled, storedItems } from "../testbed/memcached-stats.js";
import { makeKeys } from "../load/zipf.js";
import { openLoop, type OpenLoopSpec, type Target } from "../load/open-loop.js";
import { YcsbStream, workloadText, type Workload } from "../load/ycsb.js";
import { withBalancer, cacheOff } from "../load/phases.js";
import { loadCore } from "../core/loader.js";
import { setBackends, routeKey } from "../core/backends.js";
import { imbalance, chanceImbalance } from "../util/imbalance.js";
import { count, table } from "../util/table.js";
import { threadCpuSeconds, machineBusySeconds, machineStealSeconds } from "./cpu-time.js";
import { cpus } from "node:os";
import { execFileSync } from "node:child_process";
import type { CoreConfig } from "../core/config.js";
import { skewChart, type ShiftSample, type SloPoint } from "./skew-chart.js";
import { projectRoot } from "../util/paths.js";

const env = (name: string, fallback: number): number => Number(process.env[name] ?? fallback);
const chance = (loads: readonly number[]): number =>
  chanceImbalance(
    loads.reduce((a, b) => a + b, 0),
    loads.length,
  );
const BACKENDS = env("BENCH_BACKENDS", 8);
// 1%: at 2% the cached arms outran the generator (about 13,800/s here) before their backends
// saturated, so the bench could not say where they stop.
const CAP = env("BENCH_CAP", 1);
// A long period lets a capped server absorb a burst (its quota is 4 ms of CPU per 400 ms at 1%):
// over 50 ms (1 ms), one clump of requests throttled it and broke an arm at a rate it bore a
// step later, so two runs of the same arm broke at 2,856/s and at 13,787/s.
const PERIOD_US = env("BENCH_CAP_PERIOD_US", 400_000);
// A capped backend that saturates is throttled for the rest of its CFS period, so its p99 jumps
// past 40 ms; this VM's scheduling alone puts p99 at 2-5 ms. 10 ms tells the two apart.
const SLO_US = env("BENCH_SLO_MS", 10) * 1000;
const STEP_SECONDS = env("BENCH_STEP_SECONDS", 1.5);
const KEYS = env("BENCH_KEYS", 100_000);
const BASE = env("BENCH_PORT", 24000);
const RUNS = (process.env["BENCH_RUNS"] ?? "B:0.9,B:0.99,B:1.2,A:0.99,C:0.99,D:0.99").split(",").map((r) => {
  const [w = "B", theta = "0.99"] = r.split(":");
  return { workload: w as Workload, theta: Number(theta) };
});
/** Core settings for the kvlb arms beyond the defaults (BENCH_CORE, JSON), to try a change. */
const overrides = JSON.parse(process.env["BENCH_CORE"] ?? "{}") as Partial<CoreConfig>;
const VALUE_BYTES = 100;
const LOSS_OK = 0.001;
const TIMEOUT_MS = 300;
// the first step sits well under what the ketama client bears (about 1,000/s at 1%), so that
// the baseline has a step that meets the SLO
const FIRST_RATE = Math.round((400 * CAP * BACKENDS) / 8);
const FACTOR = 1.3;
const WARMUP_SECONDS = env("BENCH_WARMUP_SECONDS", 20);
const ROUNDS = env("BENCH_ROUNDS", 1);
// BENCH_VERBOSE=1: every step's figures, not only ok or BROKE
const VERBOSE = process.env["BENCH_VERBOSE"] === "1";
const SHIFT_AT = 6; // seconds into the shift run

type Arm = "ketama" | "off" | "copies" | "on" | "replicas";
const ALL_ARMS: readonly Arm[] = ["ketama", "off", "copies", "on", "replicas"];
// BENCH_ARMS picks some of them, once each, in the order given
const ARMS: readonly Arm[] = process.env["BENCH_ARMS"]
  ? [...new Set(process.env["BENCH_ARMS"].split(","))].filter((a): a is Arm => ALL_ARMS.includes(a as Arm))
  : ALL_ARMS;
const armText: Record<Arm, string> = {
  ketama: "ketama client, straight to the backends",
  off: "kvlb, cache off",
  copies: "kvlb, cache off, hot-key replication",
  on: "kvlb, cache on (adaptive hot set), no replicas",
  replicas: "kvlb, defaults: cache plus hot-key replication",
};

/** Each kvlb arm's core settings over the run's own (BENCH_CORE). */
function armConfig(arm: Exclude<Arm, "ketama">): Partial<CoreConfig> {
  if (arm === "off") return { ...cacheOff(overrides), replicaKeys: 0 };
  if (arm === "copies") return cacheOff(overrides);
  if (arm === "on") return { ...overrides, replicaKeys: 0 };
  return overrides;
}
type Limit = "backends" | "load generator" | "kvlb" | "the machine's CPUs" | "the hypervisor (steal)" | "unknown";

interface Step {
  rate: number;
  throughput: number;
  p99Us: number;
  lost: number;
  loads: number[];
  /** Requests kvlb answered itself, as a share of what it was asked. */
  answered: number;
  limit: Limit;
}

interface ArmResult {
  best: Step | undefined;
  broke: Step | undefined;
}

/** The round whose best throughput is the median (the lower of the two middle ones). */
function median(rounds: readonly ArmResult[]): ArmResult {
  const sorted = [...rounds].sort((a, b) => (a.best?.throughput ?? 0) - (b.best?.throughput ?? 0));
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? { best: undefined, broke: undefined };
}

/** How an arm's requests reach the servers, and what kvlb says it answered itself. */
interface ArmPath {
  route: (key: string) => Target;
  answered: () => Promise<[number, number]>;
}

/**
 * Runs `body` with every arm's path: the ketama client's, and a kvlb started for each of the
 * other arms (both up at once, so that the sweep can step them side by side), warmed up first.
 */
async function withArms<T>(
  ports: readonly number[],
  direct: (key: string) => Target,
  warmup: (arm: Arm, route: (key: string) => Target) => Promise<void>,
  body: (paths: ReadonlyMap<Arm, ArmPath>) => Promise<T>,
): Promise<T> {
  const paths = new Map<Arm, ArmPath>([["ketama", { route: direct, answered: () => Promise.resolve([0, 0]) }]]);
  const start = async (rest: readonly Arm[]): Promise<T> => {
    const [arm, ...others] = rest;
    if (arm === undefined) return body(paths);
    if (arm === "ketama") return start(others);
    return withBalancer(ports, armConfig(arm), async (b, at) => {
      const route = (): Target => at;
      paths.set(arm, {
        route,
        answered: async () => {
          const s = (await b.fresh()).stats;
          return [s["cache_replies"] ?? 0, s["keys"] ?? 0];
        },
      });
      await warmup(arm, route);
      return start(others);
    });
  };
  return start(ARMS);
}

/**
 * Steps every arm's rate up together, ×FACTOR at a time, each arm running its step right after
 * the others at the same rate (in an order that turns each step), until each has broken the
 * SLO: whatever the machine drifts to falls on every arm alike. A break is believed when a
 * second look agrees.
 */
async function sweep(
  paths: ReadonlyMap<Arm, ArmPath>,
  streams: ReadonlyMap<Arm, YcsbStream>,
  caps: readonly CpuCap[],
  ports: readonly number[],
): Promise<Map<Arm, ArmResult>> {
  const results = new Map<Arm, ArmResult>(ARMS.map((a) => [a, { best: undefined, broke: undefined }]));
  const alive = [...ARMS];
  for (
    let rate = FIRST_RATE, turn = 0;
    alive.length > 0 && rate < 1_000_000;
    rate = Math.round(rate * FACTOR), turn++
  ) {
    process.stdout.write(`  ${count(rate).padStart(7)}/s `);
    const order = alive.map((_, i) => alive[(i + turn) % alive.length] as Arm);
    for (const arm of order) {
      const path = paths.get(arm);
      const stream = streams.get(arm);
      if (!path || !stream) continue;
      const run = (): Promise<Step> => step(rate, stream, path.route, caps, ports, path.answered);
      let s = await run();
      if (!passes(s)) s = await run();
      const r = results.get(arm) ?? { best: undefined, broke: undefined };
      if (passes(s)) r.best = s;
      else {
        r.broke = s;
        alive.splice(alive.indexOf(arm), 1);
      }
      results.set(arm, r);
      process.stdout.write(
        VERBOSE
          ? `\n    ${arm}: ${count(s.throughput)} ops/s, p99 ${(s.p99Us / 1000).toFixed(1)} ms, ` +
              `${(s.lost * 100).toFixed(2)}% lost, by kvlb ${(s.answered * 100).toFixed(0)}%, ` +
              `imbalance ${imbalance(s.loads).toFixed(2)}, limit ${s.limit}${passes(s) ? "" : ": BROKE"}`
          : ` ${arm} ${passes(s) ? "ok" : "BROKE"}`,
      );
    }
    process.stdout.write("\n");
  }
  return results;
}

/** Runs one step: the load at `rate`, and what each part of the machine did meanwhile. */
async function step(
  rate: number,
  stream: YcsbStream,
  route: (key: string) => Target,
  caps: readonly CpuCap[],
  ports: readonly number[],
  kvlbAnswered: () => Promise<[number, number]>,
): Promise<Step> {
  await settled(ports);
  const throttledBefore = caps.map((c) => c.throttling());
  const servedBefore = await servedByEach(ports);
  const cpuBefore = threadCpuSeconds(process.pid);
  const busyBefore = machineBusySeconds();
  const stealBefore = machineStealSeconds();
  const [answeredBefore, askedBefore] = await kvlbAnswered();
  const spec: OpenLoopSpec = {
    rate,
    seconds: STEP_SECONDS,
    next: () => stream.next(),
    route,
    valueBytes: VALUE_BYTES,
    timeoutMs: TIMEOUT_MS,
  };
  const r = await openLoop(spec);
  const cpuAfter = threadCpuSeconds(process.pid);
  const busy = (machineBusySeconds() - busyBefore) / (STEP_SECONDS + TIMEOUT_MS / 1000) / cpus().length;
  const steal = (machineStealSeconds() - stealBefore) / (STEP_SECONDS + TIMEOUT_MS / 1000) / cpus().length;
  const served = await servedByEach(ports);
  const [answered, asked] = await kvlbAnswered();
  const loads = served.map((s, i) => s - (servedBefore[i] ?? 0));
  const throttled = caps.map((c, i) => {
    const t = c.throttling();
    const before = throttledBefore[i] ?? t;
    return (t.throttled - before.throttled) / Math.max(1, t.periods - before.periods);
  });
  const seconds = STEP_SECONDS + TIMEOUT_MS / 1000;
  let generator = 0;
  let kvlb = 0;
  for (const [tid, s] of cpuAfter) {
    const share = (s - (cpuBefore.get(tid) ?? 0)) / seconds;
    if (tid === process.pid) generator = share;
    else kvlb = Math.max(kvlb, share);
  }
  const p99Us = r.latency.getValueAtPercentile(99);
  // a 1 ms timer sends in batches: a lag beyond a few of its turns is the generator falling behind
  const lagging = r.sendLag.getValueAtPercentile(99) > 3000 || generator > 0.9;
  // a virtual machine whose host takes its CPUs away is the limit of everything on it
  const limit: Limit =
    steal > 0.05
      ? "the hypervisor (steal)"
      : lagging
        ? "load generator"
        : kvlb > 0.9
          ? "kvlb"
          : Math.max(...throttled) > 0.05
            ? "backends"
            : busy > 0.9
              ? "the machine's CPUs"
              : "unknown";
  return {
    rate,
    throughput: r.completed / STEP_SECONDS,
    p99Us,
    lost: r.lost / Math.max(1, r.offered),
    loads,
    answered: asked === askedBefore ? 0 : (answered - answeredBefore) / (asked - askedBefore),
    limit,
  };
}

/**
 * On a machine of several CPUs, the backends share the last one: their caps then hold them to
 * a known share of one CPU, and the load generator and kvlb may use every CPU.
 */
function pinBackends(backendPids: readonly number[]): void {
  const n = cpus().length;
  if (n < 2) return;
  for (const pid of backendPids) execFileSync("taskset", ["-apc", String(n - 1), String(pid)], { stdio: "ignore" });
}

const passes = (s: Step): boolean => s.p99Us <= SLO_US && s.lost <= LOSS_OK;

function describe(r: ArmResult): string {
  if (!r.broke) return "never broke";
  const why =
    r.broke.p99Us > SLO_US ? `p99 ${(r.broke.p99Us / 1000).toFixed(1)} ms` : `${(r.broke.lost * 100).toFixed(1)}% lost`;
  return `${why} at ${count(r.broke.rate)}/s: ${r.broke.limit}`;
}

async function main(): Promise<void> {
  const ports = Array.from({ length: BACKENDS }, (_, i) => BASE + 1 + i);
  const backends = ports.map((port) => ({ host: "127.0.0.1", address: "127.0.0.1", port, weight: 1 }));
  const keys = makeKeys(KEYS, 16, 40, 11);
  console.log(
    `bench:skew  ${BACKENDS} memcached servers, each held to ${CAP}% of a CPU (a cgroup CFS quota over ${PERIOD_US / 1000} ms); ` +
      `${count(KEYS)} keys, ${VALUE_BYTES}-byte values;\n` +
      `            open-loop UDP load at a fixed offered rate, latency per request (HDR histogram); ` +
      `SLO: p99 <= ${SLO_US / 1000} ms and <= ${LOSS_OK * 100}% lost; ${STEP_SECONDS} s steps x${FACTOR}; ` +
      `${ROUNDS} round${ROUNDS === 1 ? "" : "s"} (BENCH_ROUNDS: one round varies by about 20%)`,
  );
  // room for every key without growing the hash table (2^18 buckets for up to 393,216 items)
  const servers = await startMemcached(ports, 256, Math.max(16, Math.ceil(Math.log2(KEYS / 1.5))));
  const caps: CpuCap[] = [];
  const cleanUp = (): void => {
    for (const c of caps) c.remove();
  };
  // an interrupted run leaves no cgroup and no server behind
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void servers.stop().finally(() => {
        cleanUp();
        process.exit(130);
      });
    });
  }
  try {
    // libmemcached's placement, as kvlb computes it (test/route checks it against libmemcached)
    const ring = await loadCore();
    setBackends(ring, backends);
    const homes = new Map(keys.map((k) => [k, ports[routeKey(ring, k)] ?? ports[0] ?? 0]));
    const direct = (key: string): Target => ({ address: "127.0.0.1", port: homes.get(key) ?? ports[0] ?? 0 });
    process.stdout.write(`preloading ${count(KEYS)} keys straight to their servers... `);
    // UDP may drop a set: passes go on until the servers hold (nearly) every key
    let held = 0;
    for (let pass = 0; pass < 4 && held < KEYS * 0.999; pass++) {
      let i = 0;
      await openLoop({
        rate: 20_000,
        seconds: KEYS / 20_000,
        next: () => ({ key: keys[i++ % keys.length] ?? "", set: true }),
        route: direct,
        valueBytes: VALUE_BYTES,
        timeoutMs: 1000,
      });
      held = (await Promise.all(ports.map((p) => storedItems(p)))).reduce((a, b) => a + b, 0);
    }
    console.log(`${count(held)} held`);
    servers.processes.forEach((p, n) => {
      const cap = new CpuCap(`kvlb-bench-${process.pid}-${n}`, CAP, PERIOD_US);
      caps.push(cap);
      cap.add(p.pid ?? 0);
    });
    pinBackends(servers.processes.map((p) => p.pid ?? 0));
    if (caps[0]) console.log(`capped through ${caps[0].mechanism}`);
    // memcached tidies its LRU for a moment after a preload: that is not the arms' load
    await new Promise((r) => setTimeout(r, 3000));

    console.log(`arms: ${ARMS.map((a) => `${a} = ${armText[a]}`).join("; ")}`);
    const slo: SloPoint[] = [];
    const rows: string[][] = [];
    for (const [n, { workload, theta }] of RUNS.entries()) {
      console.log(`\n${workloadText[workload]}, Zipf ${theta}:`);
      const rounds = new Map<Arm, ArmResult[]>(ARMS.map((a) => [a, []]));
      for (let round = 0; round < ROUNDS; round++) {
        const streams = new Map(ARMS.map((a) => [a, new YcsbStream(keys, workload, theta, 100 + n + 1000 * round)]));
        const warmup = async (arm: Arm, route: (key: string) => Target): Promise<void> => {
          const stream = streams.get(arm) as YcsbStream;
          // the caches and the hot set settle before the steps
          await openLoop({
            rate: FIRST_RATE,
            seconds: WARMUP_SECONDS,
            next: () => stream.next(),
            route,
            valueBytes: VALUE_BYTES,
            timeoutMs: TIMEOUT_MS,
          });
        };
        const swept = await withArms(ports, direct, warmup, (paths) => sweep(paths, streams, caps, ports));
        for (const arm of ARMS) rounds.get(arm)?.push(swept.get(arm) ?? { best: undefined, broke: undefined });
      }
      const results = new Map<Arm, ArmResult>(ARMS.map((a) => [a, median(rounds.get(a) ?? [])]));
      const range = (arm: Arm): string => {
        const all = (rounds.get(arm) ?? []).map((r) => r.best?.throughput ?? 0);
        return all.length < 2 ? "" : ` (${count(Math.round(Math.min(...all)))}-${count(Math.round(Math.max(...all)))})`;
      };
      const base = results.get("ketama")?.best?.throughput ?? 0;
      for (const arm of ARMS) {
        const r = results.get(arm) ?? { best: undefined, broke: undefined };
        const trusted = r.broke?.limit === "backends" && results.get("ketama")?.broke?.limit === "backends";
        const best = r.best;
        if (best) slo.push({ arm: armText[arm], workload, theta, throughput: best.throughput });
        rows.push([
          `${workload} ${theta}`,
          armText[arm],
          best ? count(Math.round(best.throughput)) + range(arm) : "-",
          best ? `${(best.p99Us / 1000).toFixed(2)} ms` : "-",
          best ? `${imbalance(best.loads).toFixed(2)} (${chance(best.loads).toFixed(2)})` : "-",
          best && arm !== "ketama" ? `${(best.answered * 100).toFixed(0)}%` : "-",
          describe(r),
          !best || base === 0 ? "-" : trusted ? `${(best.throughput / base).toFixed(2)}x` : "not reported",
        ]);
      }
    }
    console.log("");
    for (const line of table(
      ["run", "arm", "ops/s at SLO", "p99", "imbalance", "by kvlb", "what broke the SLO", "vs ketama"],
      rows,
    ))
      console.log(line);
    console.log(
      `\nimbalance: the busiest server's requests over the mean (memcached's own cmd_get + cmd_set), ` +
        `at the highest rate that met the SLO; in brackets, what chance alone gives the same count of ` +
        `requests spread evenly over the servers (a step's window is short).\n` +
        `"not reported": the step that broke the SLO was limited by something other than the backends.`,
    );
    // the shift runs at what the ketama client bore at B 0.99: the backends bear it before the hot
    // set has grown (at 70% of what kvlb's defaults bore, a fresh kvlb throttled them for good)
    const bore = slo.find((r) => r.arm === armText.ketama && r.workload === "B" && r.theta === 0.99);
    const shift = await shiftRun(keys, ports, Math.max(FIRST_RATE * 2, Math.round(bore?.throughput ?? 0)));
    const out = join(projectRoot(), "build", "bench");
    mkdirSync(out, { recursive: true });
    const file = join(out, "skew.svg");
    writeFileSync(file, await skewChart(slo, shift, SHIFT_AT));
    console.log(`\nchart: ${file}`);
  } finally {
    await servers.stop();
    cleanUp();
  }
}

/** Imbalance over a sliding window of `span` samples: one 250 ms sample is too few requests. */
function windowed(samples: readonly ShiftSample[], span: number): { t: number; imbalance: number }[] {
  return samples.slice(span - 1).map((s, i) => {
    const loads = s.loads.map((_, b) => samples.slice(i, i + span).reduce((a, x) => a + (x.loads[b] ?? 0), 0));
    return { t: s.t, imbalance: imbalance(loads) };
  });
}

/**
 * B at Zipf 0.99 through kvlb on its defaults, warmed up, at a rate the backends bear; the hot
 * set moves halfway. The backends' loads are read from their own counters every 250 ms; the
 * imbalance is taken over 1 s windows.
 */
async function shiftRun(keys: readonly string[], ports: readonly number[], rate: number): Promise<ShiftSample[]> {
  const stream = new YcsbStream(keys, "B", 0.99, 999);
  const samples: ShiftSample[] = [];
  const seconds = 12;
  const shiftAt = SHIFT_AT;
  console.log(
    `\nhot-set shift: B at Zipf 0.99, ${count(rate)} ops/s through kvlb on its defaults, the hot set moved after ${shiftAt} s`,
  );
  await settled(ports);
  await withBalancer(ports, overrides, async (_b, at) => {
    const load = (s: number): ReturnType<typeof openLoop> =>
      openLoop({
        rate,
        seconds: s,
        next: () => stream.next(),
        route: () => at,
        valueBytes: VALUE_BYTES,
        timeoutMs: TIMEOUT_MS,
      });
    await load(WARMUP_SECONDS * 2);
    const start = Date.now();
    let last = await servedByEach(ports);
    const poll = setInterval(() => {
      void servedByEach(ports).then((now) => {
        samples.push({ t: (Date.now() - start) / 1000, loads: now.map((v, i) => v - (last[i] ?? 0)) });
        last = now;
      });
    }, 250);
    const shifter = setTimeout(() => stream.shift(), shiftAt * 1000);
    await load(seconds);
    clearInterval(poll);
    clearTimeout(shifter);
  });
  const series = windowed(samples, 4);
  const before = series.filter((s) => s.t > shiftAt - 2 && s.t <= shiftAt).map((s) => s.imbalance);
  const level = before.length > 0 ? before.reduce((a, b) => a + b, 0) / before.length : NaN;
  const target = Math.max(1.1, level * 1.05);
  const worst = Math.max(...series.filter((s) => s.t > shiftAt).map((s) => s.imbalance));
  const perWindow = samples.reduce((a, s) => a + s.loads.reduce((x, y) => x + y, 0), 0) / (samples.length / 4 || 1);
  const after = series.filter((s) => s.t > shiftAt + 1); // the first window wholly after the shift
  const back = after.find((s, i) => after.slice(i, i + 4).every((x) => x.imbalance <= target));
  console.log(
    `  imbalance over 1 s windows: ${level.toFixed(2)} before the shift, up to ${worst.toFixed(2)} after it; ` +
      (back
        ? `back under ${target.toFixed(2)} (the bound, or 5% over the level before) ` +
          (back === after[0]
            ? `in the first 1 s window wholly after it (${(back.t - shiftAt).toFixed(2)} s: the shortest this measures)`
            : `${(back.t - shiftAt).toFixed(2)} s after it`)
        : `not back under ${target.toFixed(2)} within ${seconds - shiftAt} s`) +
      `; chance alone gives a 1 s window ${chanceImbalance(Math.round(perWindow), ports.length).toFixed(2)}`,
  );
  return samples;
}

main().catch((e: unknown) => {
  console.error(`bench:skew: ${(e as Error).message}`);
  process.exit(1);
});
