// The layers together: where a learned value goes, promotion on a hot L2 hit, demotion by
// tick() once a key cools, and stale offers refused.
import test from "ava";
import { makeCore, valueBlock } from "../support/core.js";
import * as abi from "../../assembly/abi/abi.js";

const config = { support: 0.2, epsilon: 0.02, warm: 0.05, window: 0 };

test("offer puts a hot key in L1, a warm key in L2, and a cold key nowhere", async (t) => {
  const core = await makeCore(config);
  const keys: string[] = [];
  for (let i = 0; i < 1000; i++) keys.push(i % 2 === 0 ? "hot" : i % 10 === 1 ? "warm" : `cold${i}`);
  core.observe(keys);
  t.is(core.offer("hot", core.readVersion("hot"), valueBlock("hot", "h")), abi.LAYER_L1);
  t.is(core.offer("warm", core.readVersion("warm"), valueBlock("warm", "w")), abi.LAYER_L2);
  t.is(core.offer("cold999", 0n, valueBlock("cold999", "c")), abi.LAYER_NONE);
  const [hot, warm, cold] = core.observe(["hot", "warm", "cold999"]);
  t.deepEqual(hot?.reply, valueBlock("hot", "h"));
  t.truthy((hot?.flags ?? 0) & abi.RF_L1_HIT);
  t.deepEqual(warm?.reply, valueBlock("warm", "w"));
  t.truthy((warm?.flags ?? 0) & abi.RF_L2_HIT);
  t.is(cold?.reply, undefined);
});

test("an offer read before a write began is refused as stale", async (t) => {
  const core = await makeCore(config);
  core.observe(Array.from({ length: 500 }, () => "k"));
  core.offer("k", 0n, valueBlock("k", "1"));
  const seen = core.readVersion("k");
  const v = core.beginWrite("k");
  t.is(core.offer("k", seen, valueBlock("k", "old")), 0, "write in flight");
  t.true(core.completeWrite("k", v, valueBlock("k", "2")));
  t.is(core.offer("k", seen, valueBlock("k", "old")), 0, "older version");
  t.deepEqual(core.observe(["k"])[0]?.reply, valueBlock("k", "2"));
  t.is(core.stats()["stale_fills"], 2n);
});

test("an L2 key that turns hot is promoted on its next hit; tick() demotes a key that cooled", async (t) => {
  const core = await makeCore(config);
  core.l2Put("k", 1n, valueBlock("k", "v"));
  const results = core.observe(Array.from({ length: 200 }, () => "k"));
  t.truthy((results[results.length - 1]?.flags ?? 0) & abi.RF_L1_HIT);
  t.is(core.l2Get("k"), undefined);
  t.truthy(core.l1Get("k"));
  t.is(core.stats()["promotions"], 1n);

  core.observe(Array.from({ length: 5000 }, (_, i) => `other${i}`));
  t.is(core.tick(1n), 1);
  t.is(core.l1Get("k"), undefined);
  t.deepEqual(core.l2Get("k")?.reply, valueBlock("k", "v"));
  t.is(core.stats()["demotions"], 1n);
  t.is(core.checkState(), 0);
});
