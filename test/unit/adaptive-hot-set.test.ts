// The adaptive hot set (assembly/cache/admission.ts), driven as the frame path drives it: gets
// from a client, real replies from the two backends (serveAsBackends), and ticks with a clock
// that moves. The oracle is the backends' own counts of what reached them: the test computes
// their imbalance itself, from the requests each backend was sent.
import test from "ava";
import { frameBalancer, fromClient, serveAsBackends } from "../support/frame-balancer.js";
import { parseFrame } from "../support/frames.js";
import { routeKey, backendCounters } from "../../host/core/backends.js";
import type { CoreConfig } from "../../host/core/config.js";
import type { InspectableCore } from "../../host/core/inspectable-core.js";
import type { FrameDriver } from "../support/frame-driver.js";

const ADAPT_MS = 10;
// warm at 5% of N: no key of the streams below reaches it, so only an adapted bar admits them
const base: Partial<CoreConfig> = { support: 0.5, epsilon: 0.0005, warm: 0.05, window: 0, adaptMs: ADAPT_MS };

interface Rig {
  core: InspectableCore;
  io: FrameDriver;
  keys: [string[], string[]];
  values: Record<string, string>;
  now: bigint;
  periods: number;
}

async function rig(config: Partial<CoreConfig>): Promise<Rig> {
  const { core, io } = await frameBalancer(40001, { ...base, ...config });
  const keys: [string[], string[]] = [[], []];
  for (let i = 0; keys[0].length < 40 || keys[1].length < 40; i++) {
    const k = `hs-${i}`;
    const home = routeKey(core, k) as 0 | 1;
    if (keys[home].length < 40) keys[home].push(k);
  }
  const values = Object.fromEntries([...keys[0], ...keys[1]].map((k) => [k, `value-of-${k}`]));
  return { core, io, keys, values, now: 1_000_000_000n, periods: 0 };
}

/** `n` keys homed on each backend that no period asked before: the long tail nothing caches. */
function tail(r: Rig, n: number): string[] {
  const out: string[] = [];
  const homed: [number, number] = [0, 0];
  for (let i = 0; homed[0] < n || homed[1] < n; i++) {
    const k = `tail-${r.periods}-${i}`;
    const home = routeKey(r.core, k);
    if ((homed[home] ?? n) < n) {
      homed[home] = (homed[home] ?? 0) + 1;
      out.push(k);
    }
  }
  return out;
}

/**
 * One period: each key of backend 0 asked `heavy` times, each of backend 1 `light` times, and
 * 100 tail keys of each backend once, the backends answering everything; then the clock moves
 * one adaptation period. Returns the requests each backend was sent in the period.
 */
function period(r: Rig, heavy: number, light: number): [number, number] {
  const before = backendCounters(r.core, 2).map((c) => Number(c.requests));
  let id = 1;
  const asks: string[] = tail(r, 100);
  r.periods++;
  for (let n = 0; n < Math.max(heavy, light); n++) {
    if (n < heavy) asks.push(...r.keys[0]);
    if (n < light) asks.push(...r.keys[1]);
  }
  for (let i = 0; i < asks.length; i += 32) {
    const frames = asks.slice(i, i + 32).map((k) => fromClient(id++ & 0xffff, `get ${k}\r\n`, 41000 + (i % 500)));
    const sent = r.io.burst(frames);
    const toBackends = sent.filter((f) => parseFrame(f.bytes).dport === 11211);
    const replies = serveAsBackends(r.io, toBackends, r.values);
    serveAsBackends(r.io, replies, r.values); // kvlb's own asks for a value, sent from the replies' burst
  }
  r.now += BigInt(ADAPT_MS) * 1_000_000n;
  r.io.tick(r.now);
  const after = backendCounters(r.core, 2).map((c) => Number(c.requests));
  return [(after[0] ?? 0) - (before[0] ?? 0), (after[1] ?? 0) - (before[1] ?? 0)];
}

const imbalance = ([a, b]: [number, number]): number => Math.max(a, b) / ((a + b) / 2);
const bar = (r: Rig, backend: number): number => backendCounters(r.core, 2)[backend]?.admit ?? NaN;

test("a backend over the bound has its cooler keys cached until the load it sees is back under the bound", async (t) => {
  const r = await rig({ imbalance: 1.1 });
  const first = period(r, 3, 0);
  t.true(imbalance(first) > 1.3, `backend 0's keys add 120 requests to each backend's 100: ${first.join(" / ")}`);
  let last = first;
  for (let i = 0; i < 30 && imbalance(last) > 1.1; i++) last = period(r, 3, 0);
  t.true(imbalance(last) <= 1.1, `backends saw ${last.join(" / ")} in the last period`);
  t.true(bar(r, 0) < 1, `backend 0's bar came down to ${bar(r, 0)}`);
  t.is(bar(r, 1), 1, "backend 1, under the mean, kept its bar");
  t.true((r.core.stats()["admit_wider"] ?? 0n) > 0n);
  t.true(r.core.l2Count > 0, "backend 0's keys are in L2");
});

test("once the load moves away, the calm backend's bar rises again", async (t) => {
  const r = await rig({ imbalance: 1.1 });
  for (let i = 0; i < 30; i++) period(r, 3, 0);
  const lowered = bar(r, 0);
  t.true(lowered < 1);
  // the heavy keys move to backend 1: backend 0 is under the mean, period after period
  for (let i = 0; i < 40; i++) period(r, 0, 3);
  t.true(bar(r, 0) > lowered, `backend 0's bar rose from ${lowered} to ${bar(r, 0)}`);
  t.true((r.core.stats()["admit_narrower"] ?? 0n) > 0n);
});

test("with imbalance 0 the thresholds stay fixed: the same stream caches nothing and stays imbalanced", async (t) => {
  const r = await rig({ imbalance: 0 });
  let last: [number, number] = [0, 0];
  for (let i = 0; i < 20; i++) last = period(r, 3, 0);
  t.true(imbalance(last) > 1.3, `backends saw ${last.join(" / ")}`);
  t.is(bar(r, 0), 1);
  t.is(r.core.l2Count, 0);
  t.is(r.core.stats()["admit_wider"], 0n);
});

test("a looser bound is kept with fewer keys cached: 1.5 leaves a 1.375 imbalance alone", async (t) => {
  const r = await rig({ imbalance: 1.5 });
  let last: [number, number] = [0, 0];
  for (let i = 0; i < 20; i++) last = period(r, 3, 0);
  t.true(imbalance(last) > 1.3 && imbalance(last) <= 1.5, `backends saw ${last.join(" / ")}`);
  t.is(bar(r, 0), 1);
  t.is(r.core.l2Count, 0);
});
