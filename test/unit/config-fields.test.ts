// The core config's one table (host/core/config.ts) against the ABI: every C_* offset appears
// exactly once, fields do not overlap and fit the config block, what the loader writes is what
// the core reads back, and every setting of kvlb.yaml lands at its field's offset.
import test from "ava";
import * as abi from "../../assembly/abi/abi.js";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  coreConfigFields,
  defaultCoreConfig,
  setUpOffsets,
  fileSettings,
  writeConfigBlock,
  withDefaults,
  type ConfigField,
} from "../../host/core/config.js";
import { loadConfigFile, resolveRunConfig } from "../../host/config/run-config.js";
import { makeCore } from "../support/core.js";

const dir = mkdtempSync(join(tmpdir(), "kvlb-fields-"));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

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

// One distinct, valid value per setting of kvlb.yaml; a setting added to the table without one
// here fails the first assertion.
const fileValues: Record<string, number> = {
  "detector.support": 0.3,
  "detector.epsilon": 0.01,
  "detector.warm": 0.05,
  "detector.window": 777777,
  "detector.capacity": 333,
  "cache.l1Entries": 111,
  "cache.l1Bytes": 99999,
  "cache.l2Entries": 222,
  "cache.l2SlotBytes": 444,
  "requests.natEntries": 2048,
  "requests.timeoutMs": 1234,
  "clients.budgetSlots": 512,
  "clients.replyRatio": 7,
  "clients.replyBytesPerSecond": 5555,
  "detector.imbalance": 1.25,
  "detector.adaptMs": 125,
  "cache.replicaKeys": 128,
};

test("each setting of kvlb.yaml reaches the config block at its field's offset", (t) => {
  const paths = fileSettings.map((f) => `${f.section}.${f.name}`).sort();
  t.deepEqual(paths, Object.keys(fileValues).sort(), "every setting in the table has a value in this test");
  const sections = new Map<string, string[]>();
  for (const [path, value] of Object.entries(fileValues)) {
    const [section = "", name = ""] = path.split(".");
    sections.set(section, [...(sections.get(section) ?? []), `  ${name}: ${value}`]);
  }
  const yaml = [...sections].map(([s, lines]) => `${s}:\n${lines.join("\n")}\n`).join("");
  const path = join(dir, "every-setting.yaml");
  writeFileSync(path, yaml);
  const run = resolveRunConfig(loadConfigFile(path), { backend: [] });
  const memory = new WebAssembly.Memory({ initial: Math.ceil((abi.CONFIG_BASE + abi.CONFIG_BYTES) / 65536) });
  writeConfigBlock(memory, withDefaults(run.core));
  const view = new DataView(memory.buffer, abi.CONFIG_BASE, abi.CONFIG_BYTES);
  for (const f of fileSettings) {
    const field = (coreConfigFields as readonly ConfigField[]).find((c) => c.key === f.key);
    const want = fileValues[`${f.section}.${f.name}`] ?? NaN;
    const got =
      field?.type === "f64"
        ? view.getFloat64(field.offset, true)
        : field?.type === "u64"
          ? Number(view.getBigUint64(field.offset, true))
          : view.getUint32(field?.offset ?? -1, true);
    t.is(got, want, `${f.section}.${f.name} at offset ${field?.offset}`);
  }
});

test("kvlb.yaml refuses a setting outside the range its field's schema gives, naming where", (t) => {
  const path = join(dir, "out-of-range.yaml");
  writeFileSync(path, "requests:\n  natEntries: 8\n");
  t.regex(t.throws(() => loadConfigFile(path))?.message ?? "", /\/requests\/natEntries: must be >= 16/);
  writeFileSync(path, "detector:\n  epsilon: 1\n");
  t.regex(t.throws(() => loadConfigFile(path))?.message ?? "", /\/detector\/epsilon: must be < 1/);
});
