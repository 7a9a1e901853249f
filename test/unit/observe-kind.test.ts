// DK_OBSERVE counts a key (a write's key heats it) but never looks it up, so a cached copy is
// never served for it; DK_KEY does both.
import test from "ava";
import * as abi from "../../assembly/abi/abi.js";
import { makeCore, text, valueBlock } from "../support/core.js";

test("DK_OBSERVE counts the key and never reports a cache hit; DK_KEY hits", async (t) => {
  const core = await makeCore();
  core.l1Put("cached", valueBlock("cached", "v"));
  const key = text("cached");
  const at = core.hostArea.offset;
  core.u8.set(key, at);
  const run = (kind: number): number => {
    core.u32.set([at, key.length, 1, kind], core.rx >>> 2);
    core.process(1);
    return core.u32[(core.tx >>> 2) + 3] ?? 0;
  };
  const observed = run(abi.DK_OBSERVE);
  t.is(observed & (abi.RF_L1_HIT | abi.RF_L2_HIT), 0);
  t.is(observed & abi.RF_TRACKED, abi.RF_TRACKED);
  t.is(core.estimate("cached"), 1n);
  t.is(core.stats()["l1_misses"], 0n, "an observation is not a lookup");
  t.is(run(abi.DK_KEY) & abi.RF_L1_HIT, abi.RF_L1_HIT);
  t.is(core.estimate("cached"), 2n);
});
