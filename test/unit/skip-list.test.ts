// The L2 skip list against a sorted-array model: order by (frequency, key), bounded with
// evict-min, and every operation keeping the structure consistent.
import test from "ava";
import fc from "fast-check";
import { makeCore, valueBlock } from "../support/core.js";
import { CoreError } from "../../host/errors.js";

const CAP = 12;
const SLOT = 1024;

const op = fc.oneof(
  fc.record({
    kind: fc.constant("put" as const),
    key: fc.nat({ max: 30 }),
    freq: fc.nat({ max: 20 }),
    size: fc.integer({ min: 1, max: 1100 }),
  }),
  fc.record({ kind: fc.constant("freq" as const), key: fc.nat({ max: 30 }), freq: fc.nat({ max: 20 }) }),
  fc.record({ kind: fc.constant("remove" as const), key: fc.nat({ max: 30 }) }),
  fc.record({ kind: fc.constant("evict" as const) }),
  fc.record({ kind: fc.constant("get" as const), key: fc.nat({ max: 30 }) }),
);

interface Item {
  freq: number;
  reply: Uint8Array;
}

const ordered = (m: Map<string, Item>): { key: string; freq: bigint }[] =>
  [...m]
    .sort(([ka, a], [kb, b]) => a.freq - b.freq || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([key, v]) => ({ key, freq: BigInt(v.freq) }));

test("L2 matches a sorted model under put, frequency updates, removal and evict-min", async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 250 }), async (ops) => {
      const core = await makeCore({ l2Entries: CAP, l2SlotBytes: SLOT });
      const model = new Map<string, Item>();
      for (const o of ops) {
        if (o.kind === "evict") {
          const min = ordered(model)[0];
          if (core.l2EvictMin() !== min?.key) return false;
          if (min) model.delete(min.key);
          continue;
        }
        const key = `k${o.key}`;
        if (o.kind === "put") {
          const reply = valueBlock(key, "v".repeat(o.size));
          if (key.length + reply.length > SLOT) {
            if (!throwsCoreError(() => core.l2Put(key, BigInt(o.freq), reply))) return false;
          } else {
            if (!model.has(key) && model.size === CAP) model.delete(ordered(model)[0]?.key ?? "");
            core.l2Put(key, BigInt(o.freq), reply);
            model.set(key, { freq: o.freq, reply });
          }
        } else if (o.kind === "freq") {
          const item = model.get(key);
          if (core.l2SetFreq(key, BigInt(o.freq)) !== (item !== undefined)) return false;
          if (item) item.freq = o.freq;
        } else if (o.kind === "remove") {
          if (core.l2Remove(key) !== model.delete(key)) return false;
        } else {
          const got = core.l2Get(key);
          const want = model.get(key);
          if ((got === undefined) !== (want === undefined)) return false;
          if (got && want && Buffer.compare(Buffer.from(got.reply), Buffer.from(want.reply)) !== 0) return false;
        }
        const entries = core.l2Entries();
        if (JSON.stringify(entries, big) !== JSON.stringify(ordered(model), big)) return false;
        if (core.checkState() !== 0) return false;
      }
      return true;
    }),
    { numRuns: 120 },
  );
  t.pass();
});

test("promote and demote move a key between the layers with its value", async (t) => {
  const core = await makeCore();
  const reply = valueBlock("warm", "data");
  core.l2Put("warm", 7n, reply);
  core.promote("warm");
  t.is(core.l2Get("warm"), undefined);
  t.deepEqual(core.l1Get("warm")?.reply, reply);
  core.demote("warm", 9n);
  t.is(core.l1Get("warm"), undefined);
  t.is(core.l2Get("warm")?.freq, 9n);
  t.deepEqual(core.l2Get("warm")?.reply, reply);
  t.is(core.checkState(), 0);
});

function throwsCoreError(f: () => unknown): boolean {
  try {
    f();
    return false;
  } catch (e) {
    return e instanceof CoreError;
  }
}

function big(_: string, v: unknown): unknown {
  return typeof v === "bigint" ? v.toString() : v;
}
