// Bad input is refused with an error code and leaves the state as it was.
import test from "ava";
import { makeCore, valueBlock } from "../support/core.js";
import { CoreError, ModuleError } from "../../host/errors.js";
import { loadCore } from "../../host/core/loader.js";
import * as abi from "../../assembly/abi/abi.js";
import type { InspectableCore as Core } from "../../host/core/inspectable-core.js";

async function seeded(): Promise<Core> {
  const core = await makeCore({ support: 0.1, epsilon: 0.01 });
  core.observe(Array.from({ length: 3000 }, (_, i) => `k${i % 37}`));
  core.l1Put("k1", valueBlock("k1", "one"));
  core.l2Put("k2", 5n, valueBlock("k2", "two"));
  return core;
}

test("keys of length 0 and 251 are refused per descriptor and counted; the burst goes on", async (t) => {
  const core = await seeded();
  const before = core.snapshot();
  const results = core.observe(["", "x".repeat(251), "k1"]);
  t.is(results[0]?.error, abi.E_KEY);
  t.is(results[1]?.error, abi.E_KEY);
  t.deepEqual(results[2]?.reply, valueBlock("k1", "one"), "the good key in the same burst is served");
  t.is(core.stats()["drop_key"], 2n);
  const seen = Array.from({ length: 3000 }, (_, i) => i % 37).filter((k) => k === 1).length;
  t.is(core.estimate("k1"), BigInt(seen + 1), "k1 counted once more, the bad keys not at all");
  const after = core.snapshot();
  t.not(Buffer.compare(Buffer.from(before), Buffer.from(after)), 0, "only the good key counted");
  t.is(core.checkState(), 0);
});

test("a 0-byte and a 251-byte key are refused by the cache operations", async (t) => {
  const core = await seeded();
  for (const key of ["", "y".repeat(251), "has space", "cr\r", "nul\x00"]) {
    const e = t.throws(() => core.l1Put(key, valueBlock("x", "1")), { instanceOf: CoreError });
    t.is(e?.coreCode, abi.E_KEY);
  }
  t.is(core.checkState(), 0);
});

test("a burst larger than the rx ring is refused whole", async (t) => {
  const core = await seeded();
  const before = core.snapshot();
  const e = t.throws(() => core.process(core.config.burstMax + 1), { instanceOf: CoreError });
  t.is(e?.coreCode, abi.E_BURST);
  t.is(core.stats()["burst_refused"], 1n);
  t.deepEqual(core.snapshot(), before);
});

test("descriptors pointing outside memory, of an unknown kind, or with weight 0 are refused", async (t) => {
  const core = await makeCore({ weighted: true });
  const rx = core.rx >>> 2;
  const set = (i: number, off: number, len: number, aux: number, kind: number): void => {
    core.u32.set([off, len, aux, kind], rx + i * 4);
  };
  set(0, core.memory.buffer.byteLength - 4, 16, 1, abi.DK_KEY);
  set(1, core.hostArea.offset, 4, 1, 99);
  set(2, core.hostArea.offset, 4, 0, abi.DK_KEY);
  core.process(3);
  const errors = [0, 1, 2].map((i) => -((core.u32[(core.tx >>> 2) + i * 4 + 3] ?? 0) >>> 16));
  t.deepEqual(errors, [abi.E_BOUNDS, abi.E_KIND, abi.E_WEIGHT]);
  t.is(core.total, 0n);
  const s = core.stats();
  t.deepEqual([s["drop_bounds"], s["drop_kind"], s["drop_weight"]], [1n, 1n, 1n]);
});

test("corrupt snapshots are refused and the running state is untouched", async (t) => {
  const core = await seeded();
  const good = core.snapshot();
  const cases: [string, Uint8Array, number][] = [
    ["a flipped byte", flip(good, 40), abi.E_SNAP_CHECKSUM],
    ["a wrong magic", flip(good, 0), abi.E_SNAP_MAGIC],
    ["a newer format", withU32(good, 4, 99), abi.E_SNAP_FORMAT],
    ["a truncated file", good.slice(0, good.length - 8), abi.E_SNAP_MALFORMED],
    ["an empty file", new Uint8Array(0), abi.E_SNAP_MALFORMED],
  ];
  for (const [what, bytes, code] of cases) {
    const e = t.throws(() => core.restore(bytes), { instanceOf: CoreError }, what);
    t.is(e?.coreCode, code, what);
    t.deepEqual(core.snapshot(), good, `${what}: state intact`);
  }
  t.is(core.stats()["restore_refused"], BigInt(cases.length));
  t.is(core.checkState(), 0);
});

test("a snapshot with more detector entries than the target holds is refused", async (t) => {
  const core = await seeded();
  const tiny = await makeCore({ support: 0.1, epsilon: 0.01, detectCapacity: 4 });
  const e = t.throws(() => tiny.restore(core.snapshot()), { instanceOf: CoreError });
  t.is(e?.coreCode, abi.E_SNAP_CAPACITY);
  t.is(tiny.checkState(), 0);
});

test("the loader names a missing module, a non-wasm file, missing exports and a bad config", async (t) => {
  await t.throwsAsync(loadCore({ module: "/nonexistent/kvlb.wasm" }), {
    instanceOf: ModuleError,
    message: /no such module/,
  });
  await t.throwsAsync(loadCore({ module: new TextEncoder().encode("not wasm") }), {
    message: /not a WebAssembly module/,
  });
  const empty = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]);
  await t.throwsAsync(loadCore({ module: empty }), { message: /missing exports abi_version/ });
  await t.throwsAsync(makeCore({ support: 0.01, epsilon: 0.02 }), { message: /support 0.01: must be above epsilon/ });
});

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at] = (copy[at] ?? 0) ^ 0xff;
  return copy;
}

function withU32(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(at, value, true);
  return copy;
}
