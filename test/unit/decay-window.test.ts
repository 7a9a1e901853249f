// The decaying window: after the hot set shifts, the new hot key is reported and the old one
// fades within the bounds in docs/detector.md, for every detector module.
import test from "ava";
import { makeCore, makeCoreWith, detectorModules } from "../support/core.js";

const modules = Object.keys(detectorModules) as (keyof typeof detectorModules)[];

const W = 20_000;
const support = 0.2;
const epsilon = 0.02;

function windowsToDetect(p: number): number {
  return 1 + Math.ceil(Math.log2(p / (p - support)));
}
function windowsToFade(pOld: number): number {
  return 1 + Math.ceil(Math.log2((2 * pOld) / (support - epsilon)));
}

for (const module of modules)
  for (const [pOld, pNew, offset] of [
    [0.5, 0.5, 0.3],
    [0.9, 0.3, 0.7],
    [0.3, 0.8, 0.0],
  ] as const) {
    test(`${module}: shift from a ${pOld} key to a ${pNew} key is seen within the documented bound`, async (t) => {
      const core = await makeCoreWith(module, { support, epsilon, window: W });
      const before = Math.round((5 + offset) * W);
      const keys: string[] = [];
      for (let i = 0; i < before; i++) keys.push(i % 100 < pOld * 100 ? "old" : `a${i % 5000}`);
      core.observe(keys);
      const hotOld = core.hash("old");
      const hotNew = core.hash("new");
      t.true(
        core.report().some((e) => e.hash === hotOld),
        "the old key is hot before the shift",
      );

      let detectedAt = -1;
      let fadedAt = -1;
      const burst: string[] = [];
      const horizon = 10 * W;
      for (let i = 0; i < horizon; i += 1000) {
        burst.length = 0;
        for (let j = i; j < i + 1000; j++) burst.push(j % 100 < pNew * 100 ? "new" : `b${j % 7000}`);
        core.observe(burst);
        const hot = core.report().map((e) => e.hash);
        if (detectedAt < 0 && hot.includes(hotNew)) detectedAt = i + 1000;
        if (fadedAt < 0 && !hot.includes(hotOld)) fadedAt = i + 1000;
        if (detectedAt >= 0 && fadedAt >= 0) break;
      }
      t.true(detectedAt > 0 && detectedAt <= windowsToDetect(pNew) * W, `detected after ${detectedAt}`);
      t.true(fadedAt > 0 && fadedAt <= windowsToFade(pOld) * W, `faded after ${fadedAt}`);
      t.true(core.total <= BigInt(2 * W), "N stays within two windows");
      t.is(core.checkState(), 0);
    });
  }

test("without decay the old key stays hot long after the shift", async (t) => {
  const core = await makeCore({ support, epsilon, window: 0 });
  const keys: string[] = [];
  for (let i = 0; i < 5 * W; i++) keys.push(i % 2 === 0 ? "old" : `a${i % 5000}`);
  for (let i = 0; i < 5 * W; i++) keys.push(i % 2 === 0 ? "new" : `b${i % 5000}`);
  core.observe(keys);
  t.true(core.report().some((e) => e.hash === core.hash("old")));
});
