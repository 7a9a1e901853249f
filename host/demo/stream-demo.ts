// The stream demo: a Zipf load through the core, then the hot keys it found next to their
// true counts, and the lossy-counting bounds checked against those counts.
import type { Logger } from "pino";
import { loadCore } from "../core/loader.js";
import { zipfDraws, makeKeys } from "../load/zipf.js";
import { layStream, streamBytes, runStream } from "../load/key-corpus.js";

export interface StreamDemoOptions {
  keys: number;
  distinct: number;
  zipf: number;
  support: number;
  epsilon: number;
  top: number;
}

export const streamDemoDefaults: StreamDemoOptions = {
  keys: 10_000_000,
  distinct: 1_000_000,
  zipf: 0.99,
  support: 0.01,
  epsilon: 0.001,
  top: 15,
};

const CHUNK = 1 << 20;
const fmt = (n: number | bigint): string => n.toLocaleString("en-US");

export async function runStreamDemo(o: StreamDemoOptions, log: Logger, out: (line: string) => void): Promise<boolean> {
  out(`kvlb demo: ${fmt(o.keys)} Zipf(${o.zipf}) keys over ${fmt(o.distinct)} distinct, through the WASM core`);
  out(`lossy counting with support s=${o.support}, error ε=${o.epsilon} (hot: estimate >= (s-ε)N)`);
  const keys = makeKeys(o.distinct, 16, 40, 7);
  const draws = zipfDraws(o.distinct, o.zipf, o.keys, 11);
  const core = await loadCore({
    config: { support: o.support, epsilon: o.epsilon, window: 0 },
    hostBytes: streamBytes(keys, draws.subarray(0, CHUNK)) * 2 + 4096,
  });
  log.info({ detectorCapacity: core.detectorCapacity, bucketWidth: Number(core.bucketWidth) }, "core loaded");

  const truth = new Uint32Array(o.distinct);
  const started = Date.now();
  let lastReport = started;
  for (let from = 0; from < o.keys; from += CHUNK) {
    const chunk = draws.subarray(from, Math.min(o.keys, from + CHUNK));
    for (const d of chunk) truth[d] = (truth[d] ?? 0) + 1;
    runStream(core, layStream(core, keys, chunk), 0, chunk.length);
    const now = Date.now();
    if (now - lastReport >= 1000 || from + chunk.length >= o.keys) {
      const done = from + chunk.length;
      const rate = done / ((now - started) / 1000) / 1e6;
      const line = `streamed ${fmt(done)} / ${fmt(o.keys)} keys (${rate.toFixed(1)} M keys/s)`;
      process.stderr.write(process.stderr.isTTY ? `\r${line}   ` : `${line}\n`);
      lastReport = now;
    }
  }
  if (process.stderr.isTTY) process.stderr.write("\n");

  const n = o.keys;
  const epsN = o.epsilon * n;
  const byHash = new Map<bigint, number>();
  for (let k = 0; k < o.distinct; k++) {
    if ((truth[k] ?? 0) >= (o.support - o.epsilon) * n) byHash.set(core.hash(keys[k] ?? ""), k);
  }
  const reported = core.report().sort((a, b) => Number(b.estimate - a.estimate));
  out("");
  out(`hot keys reported: ${reported.length}`);
  out(
    `  ${"key".padEnd(42)} ${"true count".padStart(11)} ${"estimate".padStart(11)} ${"error".padStart(7)} ${"share".padStart(7)}`,
  );
  let maxError = 0;
  let falsePositives = 0;
  for (const e of reported.slice(0, o.top)) {
    const k = byHash.get(e.hash);
    const trueCount = k === undefined ? 0 : (truth[k] ?? 0);
    const name = k === undefined ? `(hash ${e.hash.toString(16)})` : (keys[k] ?? "");
    out(
      `  ${name.padEnd(42)} ${fmt(trueCount).padStart(11)} ${fmt(e.estimate).padStart(11)} ${fmt(trueCount - Number(e.estimate)).padStart(7)} ${((100 * trueCount) / n).toFixed(2).padStart(6)}%`,
    );
  }
  for (const e of reported) {
    const k = byHash.get(e.hash);
    if (k === undefined) falsePositives++;
    else maxError = Math.max(maxError, (truth[k] ?? 0) - Number(e.estimate));
  }
  let missed = 0;
  let mustReport = 0;
  const reportedSet = new Set(reported.map((e) => e.hash));
  for (const [h, k] of byHash) {
    if ((truth[k] ?? 0) >= o.support * n) {
      mustReport++;
      if (!reportedSet.has(h)) missed++;
    }
  }
  const ok = maxError <= epsN && missed === 0 && falsePositives === 0 && core.checkState() === 0;
  out("");
  out(`N = ${fmt(n)}, εN = ${fmt(epsN)}`);
  out(`  largest underestimate among reported keys: ${fmt(maxError)} <= εN ${maxError <= epsN ? "✓" : "✗"}`);
  out(`  keys with a true count >= sN: ${mustReport}, all reported ${missed === 0 ? "✓" : `✗ (${missed} missed)`}`);
  out(`  reported keys below (s-ε)N: ${falsePositives} ${falsePositives === 0 ? "✓" : "✗"}`);
  out(`  detector entries: ${fmt(core.detectorCount)} of ${fmt(core.detectorCapacity)}`);
  out(`  ${ok ? "every lossy-counting bound held" : "A BOUND WAS BROKEN"}`);
  return ok;
}
