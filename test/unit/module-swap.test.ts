// Swapping a core's detector module between bursts: the state carries over (hot keys, caches,
// stats), every refused module leaves the old one running, and a module that traps in a burst
// gives way to the one before it, which runs the burst again.
import test from "ava";
import { readFileSync } from "node:fs";
import { parseFrame } from "../support/frames.js";
import { frameBalancer, fromClient, at, serveAsBackends, withoutFillAsks } from "../support/frame-balancer.js";
import { detectorModules } from "../support/core.js";
import { faultModule, bareModule } from "../support/fault-modules.js";

import {
  prepareModule,
  runningShape,
  swapModule,
  rollBackAfterTrap,
  type PreparedModule,
} from "../../host/core/swap.js";
import type { InspectableCore as Core } from "../../host/core/inspectable-core.js";
import * as abi from "../../assembly/abi/abi.js";
import type { FrameDriver } from "../support/frame-driver.js";

const prepare = (core: Core, bytes: Uint8Array, name: string): Promise<PreparedModule> =>
  prepareModule(bytes, name, runningShape(core));
const moduleFile = (m: keyof typeof detectorModules): Uint8Array => readFileSync(detectorModules[m]);

/** Gets "hot" until it is answered from the cache; returns that answer. */
function warm(io: FrameDriver): string {
  for (let i = 0; i < 50; i++) {
    const out = io.burst([fromClient(1, "get hot\r\n")]);
    const f = parseFrame(at(out, 0).bytes);
    if (f.dport !== 11211) return f.payload.subarray(8).toString();
    serveAsBackends(io, out, { hot: "abc" });
  }
  throw new Error("never cached");
}

const cachedGet = (io: FrameDriver): boolean =>
  parseFrame(at(io.burst([fromClient(2, "get hot\r\n")]), 0).bytes).dport !== 11211;

test("lossy -> Space-Saving -> Count-Min -> weighted -> lossy: hot keys, caches and stats carry over", async (t) => {
  const { core, io } = await frameBalancer();
  t.is(warm(io), "VALUE hot 0 3\r\nabc\r\nEND\r\n");
  const chain: (keyof typeof detectorModules)[] = ["space-saving", "count-min", "weighted", "lossy"];
  for (const m of chain) {
    const before = core.stats();
    const l1 = core.l1Keys();
    const l2 = JSON.stringify(core.l2Entries(), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
    const next = await prepare(core, moduleFile(m), m);
    swapModule(core, next);
    t.is(core.exports.detector_kind(), next.info.kind, m);
    t.deepEqual(core.l1Keys(), l1, `${m}: L1 kept`);
    t.is(
      JSON.stringify(core.l2Entries(), (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
      l2,
      `${m}: L2 kept as it lay`,
    );
    t.true(
      core.report().some((e) => e.hash === core.hash("hot")),
      `${m}: the hot key is still hot`,
    );
    t.true(cachedGet(io), `${m}: the next get is answered from the cache`);
    t.true((core.stats()["cache_replies"] ?? 0n) > (before["cache_replies"] ?? 0n), `${m}: stats continue`);
    t.is(core.checkState(), 0);
  }
});

test("the same detector again takes the state as it lies (no snapshot)", async (t) => {
  const { core, io } = await frameBalancer();
  warm(io);
  const again = await prepare(core, moduleFile("lossy"), "lossy");
  const restoresBefore = core.stats()["restores"] ?? 0n;
  swapModule(core, again);
  t.is(core.stats()["restores"] ?? 0n, restoresBefore, "no restore ran");
  t.true(cachedGet(io));
});

test("refused modules say why, and the running one keeps serving", async (t) => {
  const { core, io } = await frameBalancer();
  warm(io);
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode("not wasm at all"), /not-wasm: not a WebAssembly module/],
    [bareModule(), /bare: missing exports .*process/],
    [faultModule("abi"), /module abi 2, host expects 1/],
    [faultModule("init"), /traps in init/],
    [faultModule("restore"), /traps in restore/],
    [faultModule("memory"), /needs [\d.]+ MiB of memory, and the running core has [\d.]+ MiB/],
  ];
  const names = ["not-wasm", "bare", "abi", "init", "restore", "memory"];
  for (const [i, [bytes, message]] of cases.entries()) {
    await t.throwsAsync(prepare(core, bytes, names[i] ?? ""), { message }, names[i]);
    t.true(cachedGet(io), `${names[i]}: still serving from the cache`);
  }
  t.is(core.exports.detector_kind(), 1);
});

test("a module that traps in a burst gives way to the one before, which runs the burst again", async (t) => {
  const { core, io } = await frameBalancer();
  warm(io);
  const previous = core.module;
  const faulty = await prepare(core, faultModule("process"), "trap");
  swapModule(core, faulty);
  t.true(cachedGet(io), "the faulty module serves until it meets its key");
  const burst = [fromClient(3, "get kvlb-trap\r\n"), fromClient(4, "get hot\r\n")];
  const pool = io.poolCount;
  t.throws(() => io.burst(burst), { instanceOf: WebAssembly.RuntimeError });
  rollBackAfterTrap(core, previous, burst.length);
  t.is(core.module, previous);
  t.is(io.poolCount, pool - burst.length, "the frames it built in went back; the received ones wait for the retry");
  const out = withoutFillAsks(io.rerun(burst.length));
  t.is(out.length, 2, "the retried burst: the trap key forwarded, the hot key answered");
  t.is(io.poolCount, pool);
  t.true(cachedGet(io));
  t.is(core.checkState(), 0);
});

test("a detector-only snapshot restores the detector alone, and a whole snapshot is not taken for one", async (t) => {
  const { core, io } = await frameBalancer();
  warm(io);
  const l1 = core.l1Keys();
  const len = core.exports.snapshot_detector();
  t.true(len > 0);
  t.is(core.exports.restore_detector(len), 0);
  t.deepEqual(core.l1Keys(), l1, "the caches were not touched");
  t.true(core.report().some((e) => e.hash === core.hash("hot")));
  const whole = core.exports.snapshot();
  t.is(core.exports.restore_detector(whole), abi.E_SNAP_MALFORMED);
  t.is(core.checkState(), 0);
});

test("a module that traps in its restore at the worker (past the checks on scratch memory) leaves the old one running with its state", async (t) => {
  // a Space-Saving core, so that a lossy module must restore the detector
  const { core, io } = await frameBalancer(40001, {}, "space-saving");
  t.is(warm(io), "VALUE hot 0 3\r\nabc\r\nEND\r\n");
  const old = core.module;
  const l1 = core.l1Keys();
  const faulty: PreparedModule = {
    module: new WebAssembly.Module(new Uint8Array(faultModule("restore"))),
    info: { name: "restore-trap", kind: 1, version: 1, sha256: "", bytes: 0 },
  };
  t.throws(() => swapModule(core, faulty), { message: /^restore-trap: traps in restore/ });
  t.is(core.module, old, "the running module was put back");
  t.is(core.exports.detector_kind(), 3);
  t.deepEqual(core.l1Keys(), l1, "its caches are as they were");
  t.true(cachedGet(io), "and it serves from them");
  t.true(
    core.report().some((e) => e.hash === core.hash("hot")),
    "the hot key is still hot",
  );
  // its static data (the texts of its answers) is its own again, not the faulty module's
  const answer = io
    .burst([fromClient(9, "frobnicate\r\n")])
    .map((f) => parseFrame(f.bytes).payload.subarray(8).toString());
  t.deepEqual(answer, ["ERROR\r\n"]);
  t.is(core.checkState(), 0);
});
