// The hot keys a worker reports (one call into the core) against the same list made the slow
// way, key by key, through the inspection accessors: the warmest cached keys, warmest first;
// every L1 key counts, an L2 key the detector no longer counts does not. And the report's cost
// to the data path does not grow with the caches: the old one made a call and a string per
// cached key, 10 ms with full caches, while every request waited.
import test from "ava";
import { makeCore } from "../support/core.js";
import { report } from "../../host/worker/report.js";
import type { WorkerSetup } from "../../host/worker/messages.js";

const setup: WorkerSetup = {
  core: {},
  backends: [],
  listen: { address: "127.0.0.1", port: 11211 },
  backendBind: "127.0.0.1",
};

const reply = (k: string): Uint8Array => new TextEncoder().encode(`VALUE ${k} 0 3\r\nabc\r\n`);

test("the core's 20 warmest cached keys are the slow model's, with their estimates and layers", async (t) => {
  const core = await makeCore({ window: 0 });
  const keys: string[] = [];
  for (let i = 0; i < 300; i++) {
    const k = `k${i}`;
    keys.push(k);
    if (i % 3 === 0) core.l1Put(k, reply(k));
    else core.l2Put(k, 1n, reply(k));
  }
  // estimates: key i is seen (i * 7) % 50 times; some L2 keys are never seen (estimate 0)
  const stream = keys.flatMap((k, i) => Array<string>((i * 7) % 50).fill(k));
  core.observe(stream);
  const model = [
    ...core.l1Keys().map((key) => ({ key, estimate: Number(core.estimate(key)), layer: "L1" })),
    ...core
      .l2Entries()
      .map(({ key }) => ({ key, estimate: Number(core.estimate(key)), layer: "L2" }))
      .filter((e) => e.estimate > 0),
  ].sort((a, b) => b.estimate - a.estimate);
  const got = core.hotKeys(20);
  t.is(got.length, 20);
  t.deepEqual(
    got.map((g) => g.estimate),
    model.slice(0, 20).map((m) => m.estimate),
    "the same estimates, warmest first",
  );
  for (const g of got) {
    const m = model.find((x) => x.key === g.key);
    t.deepEqual(g, m, `${g.key} as the model has it`);
  }
  t.true(got.every((g) => g.layer === "L1" || g.estimate > 0));
});

test("with fewer cached keys than asked for, each counted one is listed; an uncounted L2 key is not", async (t) => {
  const core = await makeCore({});
  t.deepEqual(core.hotKeys(20), []);
  core.l1Put("only", reply("only"));
  core.l2Put("cold", 1n, reply("cold"));
  core.observe(["only", "only"]);
  t.deepEqual(core.hotKeys(20), [{ key: "only", estimate: 2, layer: "L1" }]);
});

test("a worker's report calls into the core a fixed number of times, however many keys are cached", async (t) => {
  const counted = async (cached: number): Promise<number> => {
    const core = await makeCore({});
    for (let i = 0; i < cached; i++) core.l2Put(`c${i}`, 1n, reply(`c${i}`));
    core.observe(Array.from({ length: cached }, (_, i) => `c${i}`));
    let calls = 0;
    const exports = core.exports;
    // a module's exports object is frozen: the count goes through a copy that wraps each function
    core.exports = Object.fromEntries(
      Object.entries(exports).map(([name, value]) => [
        name,
        typeof value === "function"
          ? (...args: unknown[]): unknown => {
              calls++;
              return (value as (...a: unknown[]) => unknown)(...args);
            }
          : value,
      ]),
    ) as typeof exports;
    report(core, setup, { sent: 0n, failed: 0n, refused: 0 }, 0);
    core.exports = exports;
    return calls;
  };
  const few = await counted(10);
  const many = await counted(4000);
  t.is(many, few, `${few} calls with 10 keys cached, ${many} with 4,000`);
});
