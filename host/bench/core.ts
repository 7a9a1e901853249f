// npm run bench:core: ns per key (observe alone, and observe + L1 lookup) for the WASM core against the plain
// TypeScript reference, on the same Zipf(0.99) stream in the same run. Both read the keys as
// bytes from one buffer laid out like an rx ring: the core through descriptors, the reference
// by decoding each key to a string first, as a JavaScript balancer reading datagrams must.
// Chunks alternate between the two, so that machine noise falls on both alike.
import { loadCore } from "../core/loader.js";
import { zipfDraws, makeKeys } from "../load/zipf.js";
import { layStream, streamBytes, runStream } from "../load/key-corpus.js";
import { ReferenceLossyCounter, ReferenceHotTable } from "./reference.js";
import { defaultCoreConfig } from "../core/config.js";
import * as abi from "../../assembly/abi/abi.js";

const DISTINCT = Number(process.env["BENCH_DISTINCT"] ?? 1_000_000);
const DRAWS = Number(process.env["BENCH_KEYS"] ?? 10_000_000);
const CHUNK = 1 << 20;
const HOT_CACHED = 64;

async function main(): Promise<void> {
  const { support, epsilon } = defaultCoreConfig;
  console.log(
    `bench:core  ${DRAWS.toLocaleString()} Zipf(0.99) keys of 16-40 bytes over ${DISTINCT.toLocaleString()} distinct, bursts of 256`,
  );
  console.log(
    `            lossy counting s=${support} ε=${epsilon} (no decay), L1 holding the ${HOT_CACHED} hottest keys;\n            the first ${CHUNK.toLocaleString()} keys warm up the JIT and are not timed`,
  );
  const keys = makeKeys(DISTINCT, 16, 40, 7);
  const draws = zipfDraws(DISTINCT, 0.99, DRAWS, 11);
  const value = (k: string): Uint8Array => Buffer.from(`VALUE ${k} 0 100\r\n${"v".repeat(100)}\r\n`);

  const core = await loadCore({
    config: { window: 0 },
    hostBytes: streamBytes(keys, draws.subarray(0, CHUNK)) * 2 + 4096,
  });
  // A second core with the same config counts the same keys without the cache lookup, for the
  // observe-only figure the target names.
  const observer = await loadCore({
    config: { window: 0 },
    hostBytes: streamBytes(keys, draws.subarray(0, CHUNK)) * 2 + 4096,
  });
  const ref = new ReferenceLossyCounter(support, epsilon);
  const table = new ReferenceHotTable();
  for (let r = 0; r < HOT_CACHED; r++) {
    core.l1Put(keys[r] ?? "", value(keys[r] ?? ""));
    table.put(keys[r] ?? "", value(keys[r] ?? ""));
  }
  const bytes = Buffer.from(core.memory.buffer);
  let wasmNs = 0;
  let observeNs = 0;
  let refNs = 0;
  let wasmHits = 0;
  let refHits = 0;
  // The first chunk warms the JIT tiers of both sides and is not timed.
  let timed = 0;
  for (let from = 0; from < DRAWS; from += CHUNK) {
    const isTimed = from > 0 || DRAWS <= CHUNK;
    const chunkLength = Math.min(DRAWS, from + CHUNK) - from;
    if (isTimed) timed += chunkLength;
    const chunk = draws.subarray(from, Math.min(DRAWS, from + CHUNK));
    const stream = layStream(core, keys, chunk);
    const observed = layStream(observer, keys, chunk);
    let t0 = process.hrtime.bigint();
    runStream(observer, observed, 0, chunk.length, abi.DK_OBSERVE);
    if (isTimed) observeNs += Number(process.hrtime.bigint() - t0);
    t0 = process.hrtime.bigint();
    wasmHits += runStream(core, stream, 0, chunk.length);
    if (isTimed) wasmNs += Number(process.hrtime.bigint() - t0);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < chunk.length; i++) {
      const at = stream.offsets[i] ?? 0;
      const k = bytes.toString("latin1", at, at + (stream.lengths[i] ?? 0));
      ref.observe(k);
      if (table.get(k)) refHits++;
    }
    if (isTimed) refNs += Number(process.hrtime.bigint() - t0);
    if (process.stderr.isTTY) process.stderr.write(`\r  ${(from + chunk.length).toLocaleString()} keys`);
  }
  if (process.stderr.isTTY) process.stderr.write("\n");
  if (observer.checkState() !== 0 || observer.detectorCount !== core.detectorCount)
    throw new Error("the observe-only core diverged from the full one");
  if (core.checkState() !== 0) throw new Error("core state inconsistent after the run");
  if (refHits !== wasmHits) throw new Error(`hit counts differ: wasm ${wasmHits}, reference ${refHits}`);
  if (core.detectorCount !== ref.entries.size) throw new Error("detector sizes differ from the reference");
  const wasm = wasmNs / timed;
  const observe = observeNs / timed;
  const reference = refNs / timed;
  const ratio = reference / wasm;
  console.log(
    `  WASM observe only   ${observe.toFixed(1).padStart(7)} ns/key   (${(1000 / observe).toFixed(1)} M keys/s)`,
  );
  console.log(`  WASM core           ${wasm.toFixed(1).padStart(7)} ns/key   (${(1000 / wasm).toFixed(1)} M keys/s)`);
  console.log(
    `  TS reference        ${reference.toFixed(1).padStart(7)} ns/key   (${(1000 / reference).toFixed(1)} M keys/s)`,
  );
  console.log(
    `  ratio (ref / wasm)  ${ratio.toFixed(2).padStart(7)}x        L1 hit ratio ${(wasmHits / DRAWS).toFixed(3)}`,
  );
  console.log(
    `  targets: ratio >= 2x ${ratio >= 2 ? "met" : "MISSED"}; observe <= 40 ns/key ${observe <= 40 ? "met" : "MISSED"}`,
  );
}

main().catch((e: unknown) => {
  console.error(`bench:core: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
