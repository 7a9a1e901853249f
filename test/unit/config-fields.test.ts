// The core config's one table (host/core/config.ts) against the ABI: every C_* offset appears
// exactly once, fields do not overlap and fit the config block, and what the loader writes is
// what the core reads back.
import test from "ava";
import * as abi from "../../assembly/abi/abi.js";
import { coreConfigFields, defaultCoreConfig, setUpOffsets } from "../../host/core/config.js";
import { makeCore } from "../support/core.js";

const WIDTH = { f64: 8, u64: 8, u32: 4, bool: 4 } as const;

test("every C_* offset of the ABI is in the table or written at set-up, once, and no two fields overlap", (t) => {
  const abiOffsets = Object.entries(abi)
    .filter(([name]) => name.startsWith("C_"))
    .map(([, v]) => v as number)
    .sort((a, b) => a - b);
  const tableOffsets = [...coreConfigFields.map((f) => f.offset), ...setUpOffsets].sort((a, b) => a - b);
  t.deepEqual(tableOffsets, abiOffsets);
  const spans = [
    ...coreConfigFields.map((f) => [f.offset, f.offset + WIDTH[f.type]] as const),
    ...setUpOffsets.map((o) => [o, o + 4] as const),
  ].sort((a, b) => a[0] - b[0]);
  spans.forEach(([start, end], i) => {
    t.true(end <= abi.CONFIG_BYTES, `field at ${start} ends inside the block`);
    const next = spans[i + 1];
    if (next) t.true(end <= next[0], `field at ${start} overlaps the next`);
  });
  t.is(new Set(coreConfigFields.map((f) => f.key)).size, coreConfigFields.length);
});

test("the block the loader writes is the config the core was given, read back field by field", async (t) => {
  const given = { support: 0.25, epsilon: 0.005, window: 3 << 20, natEntries: 512, failover: false };
  const core = await makeCore(given);
  const view = new DataView(core.memory.buffer, abi.CONFIG_BASE, abi.CONFIG_BYTES);
  const want = { ...defaultCoreConfig, ...given };
  t.is(view.getFloat64(abi.C_SUPPORT, true), want.support);
  t.is(view.getFloat64(abi.C_EPSILON, true), want.epsilon);
  t.is(view.getBigUint64(abi.C_WINDOW, true), BigInt(want.window));
  t.is(view.getUint32(abi.C_NAT_ENTRIES, true), want.natEntries);
  t.is(view.getUint32(abi.C_FAILOVER, true), 0);
  t.is(view.getUint32(abi.C_SEED, true), want.seed >>> 0);
  t.is(core.config.natEntries, 512);
});
