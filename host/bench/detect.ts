// npm run bench:detect: each detector module against exact counts of the same stream.
//   accuracy  Zipf(θ) streams over 100,000 keys: precision and recall of the keys reported hot
//             (true share >= φ), the estimates' error on those keys, the detector's memory, and
//             how many observations a second the core takes with its caches off
//   shift     the hot set moves halfway through a Zipf(0.99) stream, with the default decaying
//             window: observations until the new top ten are all reported, and until the old
//             top ten are all forgotten
// The oracle is a count of every key of the stream, kept here; nothing of the modules' own.
// Every module lays out the same memory (so that a swap keeps the caches), sized by ε: the
// table shows the keys each one tracks instead.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCore, detectorModulePaths, type DetectorModule } from "../core/loader.js";
import type { InspectableCore } from "../core/inspectable-core.js";
import type { CoreConfig } from "../core/config.js";
import { zipfDraws } from "../load/zipf.js";
import { count, table } from "../util/table.js";
import { projectRoot } from "../util/paths.js";
import { detectChart, type AccuracyPoint } from "./detect-chart.js";

const env = (name: string, fallback: number): number => Number(process.env["BENCH_" + name] ?? fallback);
const OBSERVATIONS = env("OBSERVATIONS", 1_000_000);
const KEYS = env("KEYS", 100_000);
const PHI = env("PHI", 0.001);
const THETAS = [0.9, 0.99, 1.2];
const MODULES = Object.keys(detectorModulePaths) as DetectorModule[];
const CHUNK = 65_536;
const AFTER_SHIFT = 4_000_000;

const names = Array.from({ length: KEYS }, (_, r) => `key:${r}`);

async function core(module: DetectorModule, config: Partial<CoreConfig>): Promise<InspectableCore> {
  // the caches off: only the detector works
  return loadCore({ module: detectorModulePaths[module], config: { ...config, l1Entries: 0, l2Entries: 0 } });
}

function feed(c: InspectableCore, ranks: Uint32Array, from: number, to: number): void {
  for (let at = from; at < to; at += CHUNK) {
    const keys: string[] = [];
    for (let i = at; i < Math.min(to, at + CHUNK); i++) keys.push(names[ranks[i] ?? 0] ?? "");
    c.observe(keys);
  }
}

interface Accuracy {
  precision: number;
  recall: number;
  meanError: number;
  maxError: number;
  /** Keys the detector tracks at the end, and the most it could. */
  tracked: number;
  capacity: number;
  perSecond: number;
}

async function accuracy(module: DetectorModule, ranks: Uint32Array, truth: Uint32Array): Promise<Accuracy> {
  const c = await core(module, { support: PHI, epsilon: PHI / 10, window: 0 });
  const start = process.hrtime.bigint();
  feed(c, ranks, 0, ranks.length);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const n = ranks.length;
  const hot = [...truth.keys()].filter((r) => (truth[r] ?? 0) >= PHI * n);
  const reported = new Set(c.report().map((e) => e.hash));
  const hits = hot.filter((r) => reported.has(c.hash(names[r] ?? ""))).length;
  const errors = hot.map((r) => Math.abs(Number(c.estimate(names[r] ?? "")) - (truth[r] ?? 0)) / n);
  return {
    precision: reported.size === 0 ? 1 : hits / reported.size,
    recall: hot.length === 0 ? 1 : hits / hot.length,
    meanError: errors.reduce((a, b) => a + b, 0) / Math.max(1, errors.length),
    maxError: Math.max(0, ...errors),
    tracked: c.detectorCount,
    capacity: c.detectorCapacity,
    perSecond: n / seconds,
  };
}

/** Observations after the shift until `done` holds, looked at every `every`; undefined if never. */
function until(
  c: InspectableCore,
  ranks: Uint32Array,
  from: number,
  every: number,
  done: () => boolean,
): number | undefined {
  for (let at = from; at < ranks.length; at += every) {
    feed(c, ranks, at, Math.min(ranks.length, at + every));
    if (done()) return at + every - from;
  }
  return undefined;
}

async function shift(module: DetectorModule): Promise<{ found?: number; forgot?: number }> {
  const half = 1_000_000;
  const ranks = zipfDraws(KEYS, 0.99, half + AFTER_SHIFT, 77);
  const offset = Math.floor(KEYS / 2);
  for (let i = half; i < ranks.length; i++) ranks[i] = ((ranks[i] ?? 0) + offset) % KEYS;
  const support = 0.01;
  const c = await core(module, { support, epsilon: support / 10 });
  feed(c, ranks, 0, half);
  const top = (shifted: boolean): bigint[] =>
    Array.from({ length: 10 }, (_, r) => c.hash(names[(r + (shifted ? offset : 0)) % KEYS] ?? ""));
  const reported = (): Set<bigint> => new Set(c.report().map((e) => e.hash));
  // the new keys with twice the support or more (Zipf(0.99) over 100,000 keys: the top three),
  // which the decay bound in docs/detector.md promises within two windows
  const newTop = top(true).filter((_, r) => 1 / Math.pow(r + 1, 0.99) / 12.1 >= 2 * support);
  const oldTop = top(false);
  const found = until(c, ranks, half, 20_000, () => {
    const now = reported();
    return newTop.every((h) => now.has(h));
  });
  const at = half + (found ?? 0);
  const forgot = until(c, ranks, at, 20_000, () => {
    const now = reported();
    return oldTop.every((h) => !now.has(h));
  });
  return {
    ...(found === undefined ? {} : { found }),
    ...(forgot === undefined ? {} : { forgot: (found ?? 0) + forgot }),
  };
}

async function main(): Promise<void> {
  console.log(
    `bench:detect  ${count(OBSERVATIONS)} observations of Zipf(θ) over ${count(KEYS)} keys per stream; ` +
      `hot: a true share of at least φ = ${PHI} (support φ, ε = φ/10, no decay); caches off`,
  );
  const points: AccuracyPoint[] = [];
  const rows: string[][] = [];
  for (const theta of THETAS) {
    const ranks = zipfDraws(KEYS, theta, OBSERVATIONS, 7);
    const truth = new Uint32Array(KEYS);
    for (const r of ranks) truth[r] = (truth[r] ?? 0) + 1;
    for (const m of MODULES) {
      const a = await accuracy(m, ranks, truth);
      points.push({ module: m, theta, precision: a.precision, recall: a.recall, maxError: a.maxError });
      rows.push([
        String(theta),
        m,
        a.precision.toFixed(3),
        a.recall.toFixed(3),
        a.meanError.toExponential(1),
        a.maxError.toExponential(1),
        `${count(a.tracked)} of ${count(a.capacity)}`,
        `${count(Math.round(a.perSecond))}/s`,
      ]);
    }
  }
  for (const line of table(
    ["θ", "module", "precision", "recall", "mean error/N", "max error/N", "keys tracked", "observations"],
    rows,
  ))
    console.log(line);
  console.log(
    `\nshift: the hot set moves after 1,000,000 observations of Zipf(0.99); support 1%, ε 0.1%, window 2^20;\n` +
      `new hot keys: the three with 2% of the traffic or more; old ones: the former top ten`,
  );
  const shifts: string[][] = [];
  for (const m of MODULES) {
    const s = await shift(m);
    shifts.push([
      m,
      s.found === undefined ? "not within 4M" : count(s.found),
      s.forgot === undefined ? "not within 4M" : count(s.forgot),
    ]);
  }
  for (const line of table(["module", "new hot keys all reported after", "old ones all forgotten after"], shifts))
    console.log(line);
  const out = join(projectRoot(), "build", "bench");
  mkdirSync(out, { recursive: true });
  const file = join(out, "detect.svg");
  writeFileSync(file, await detectChart(points));
  console.log(`\nchart: ${file}`);
}

main().catch((e: unknown) => {
  console.error(`bench:detect: ${(e as Error).message}`);
  process.exit(1);
});
