// npm run bench:swap: the pause a module swap causes on a worker, and each detector module's
// ns/key against lossy counting's, in the same run.
// Pause: a core in the state of a busy balancer (the detector fed a Zipf(0.99) stream, L1 and L2
// full of replies) swaps around lossy -> Space-Saving -> Count-Min -> weighted -> lossy, and the
// same detector again (the path without a snapshot), timed as the worker's loop sees it.
// ns/key: every module counts the same Zipf stream from descriptors, chunks interleaved between
// the modules so that machine noise falls on all alike.
import { readFileSync } from "node:fs";
import { loadCore, detectorModulePaths, type DetectorModule } from "../core/loader.js";
import { prepareModule, runningShape, swapModule, type PreparedModule } from "../core/swap.js";
import type { InspectableCore } from "../core/inspectable-core.js";
import { zipfDraws, makeKeys } from "../load/zipf.js";
import { layStream, streamBytes, runStream } from "../load/key-corpus.js";
import * as abi from "../../assembly/abi/abi.js";

const SWAPS = Number(process.env["BENCH_SWAPS"] ?? 200);
const DRAWS = Number(process.env["BENCH_KEYS"] ?? 4_000_000);
const DISTINCT = 1_000_000;
const CHUNK = 1 << 19;
const modules = Object.keys(detectorModulePaths) as DetectorModule[];
// The demo's detector (s = 0.01, ε = 0.001): it tracks thousands of keys, all of which a swap
// carries over, where the default (ε = 0.02) keeps a few dozen on this stream.
const SWAP_DETECTOR = { support: 0.01, epsilon: 0.001, warm: 0.001 };

const percentile = (sorted: number[], p: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;

/** A core as a busy balancer leaves it: the detector fed, L1 and L2 full. */
async function busyCore(keys: string[], draws: Uint32Array): Promise<InspectableCore> {
  const core = await loadCore({ config: SWAP_DETECTOR, hostBytes: streamBytes(keys, draws) + 4096 });
  const stream = layStream(core, keys, draws);
  runStream(core, stream, 0, draws.length, abi.DK_OBSERVE);
  const value = (k: string): Uint8Array => Buffer.from(`VALUE ${k} 0 100\r\n${"v".repeat(100)}\r\n`);
  for (let r = 0; r < core.config.l1Entries; r++) core.l1Put(keys[r] ?? "", value(keys[r] ?? ""));
  for (let r = 0; r < core.config.l2Entries; r++) {
    const k = keys[core.config.l1Entries + r] ?? "";
    core.l2Put(k, BigInt(1000 - (r % 1000)), value(k));
  }
  return core;
}

async function pauses(keys: string[], draws: Uint32Array): Promise<void> {
  const core = await busyCore(keys, draws.subarray(0, CHUNK));
  const shape = runningShape(core);
  const prepared = new Map<DetectorModule, PreparedModule>();
  for (const m of modules) prepared.set(m, await prepareModule(readFileSync(detectorModulePaths[m]), m, shape));
  const chain: DetectorModule[] = ["space-saving", "count-min", "weighted", "lossy"];
  const first: number[] = []; // into a module this core has not run: a new instance
  const across: number[] = [];
  const same: number[] = [];
  const ran = new Set<DetectorModule>(["lossy"]);
  for (let i = 0; i < SWAPS; i++) {
    const name = chain[i % chain.length] ?? "lossy";
    const next = prepared.get(name);
    if (next) (ran.has(name) ? across : first).push(Number(swapModule(core, next)) / 1000);
    ran.add(name);
    if (i % chain.length === chain.length - 1) {
      const again = prepared.get("lossy");
      if (again) same.push(Number(swapModule(core, again)) / 1000);
    }
  }
  if (core.checkState() !== 0) throw new Error("the core's state is inconsistent after the swaps");
  const line = (what: string, xs: number[]): void => {
    const s = [...xs].sort((a, b) => a - b);
    console.log(
      `  ${what.padEnd(44)} p50 ${percentile(s, 0.5).toFixed(0).padStart(6)} µs   p99 ${percentile(s, 0.99).toFixed(0).padStart(6)} µs   (${xs.length} swaps)`,
    );
  };
  console.log(
    `pause per swap: detector of ${core.detectorCount} keys, L1 ${core.l1Count} and L2 ${core.l2Count} replies`,
  );
  line("another detector, first time (new instance)", first);
  line("another detector (snapshot + restore)", across);
  line("the same detector (state as it lies)", same);
}

async function nsPerKey(keys: string[], draws: Uint32Array): Promise<void> {
  const hostBytes = streamBytes(keys, draws.subarray(0, CHUNK)) * 2 + 4096;
  const cores = await Promise.all(
    modules.map((m) => loadCore({ module: detectorModulePaths[m], config: { window: 0 }, hostBytes })),
  );
  const ns = modules.map(() => 0);
  let timed = 0;
  for (let from = 0; from < draws.length; from += CHUNK) {
    const chunk = draws.subarray(from, Math.min(draws.length, from + CHUNK));
    const warmup = from === 0 && draws.length > CHUNK;
    cores.forEach((core, i) => {
      const stream = layStream(core, keys, chunk);
      const t0 = process.hrtime.bigint();
      runStream(core, stream, 0, chunk.length, abi.DK_OBSERVE);
      if (!warmup) ns[i] = (ns[i] ?? 0) + Number(process.hrtime.bigint() - t0);
    });
    if (!warmup) timed += chunk.length;
  }
  const lossy = (ns[0] ?? 0) / timed;
  console.log(`\ncounting ${timed.toLocaleString()} Zipf(0.99) keys (after a warm-up chunk), bursts of 256:`);
  modules.forEach((m, i) => {
    const perKey = (ns[i] ?? 0) / timed;
    console.log(
      `  ${m.padEnd(14)} ${perKey.toFixed(1).padStart(7)} ns/key   ${(perKey / lossy).toFixed(2)}x lossy counting`,
    );
  });
  for (const [i, core] of cores.entries())
    if (core.checkState() !== 0) throw new Error(`${modules[i] ?? ""}: inconsistent state`);
}

async function main(): Promise<void> {
  console.log(`bench:swap  ${SWAPS} swaps; ${DRAWS.toLocaleString()} keys over ${DISTINCT.toLocaleString()} distinct`);
  const keys = makeKeys(DISTINCT, 16, 40, 7);
  const draws = zipfDraws(DISTINCT, 0.99, DRAWS, 11);
  await pauses(keys, draws);
  await nsPerKey(keys, draws);
}

main().catch((e: unknown) => {
  console.error(`bench:swap: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
