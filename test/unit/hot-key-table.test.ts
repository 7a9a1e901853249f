// The L1 hot-key table against a Map model, under random operations that hit the entry bound,
// the byte bound and eviction.
import test from "ava";
import fc from "fast-check";
import { makeCore, valueBlock } from "../support/core.js";
import { CoreError } from "../../host/errors.js";
import * as abi from "../../assembly/abi/abi.js";

const ENTRIES = 16;
const BYTES = 16 * 1024;

const op = fc.oneof(
  fc.record({ kind: fc.constant("put" as const), key: fc.nat({ max: 40 }), size: fc.integer({ min: 1, max: 3000 }) }),
  fc.record({ kind: fc.constant("get" as const), key: fc.nat({ max: 40 }) }),
  fc.record({ kind: fc.constant("remove" as const), key: fc.nat({ max: 40 }) }),
);

const blockSize = (key: string, reply: Uint8Array): number => (8 + key.length + reply.length + 7) & ~7;

test("L1 keeps exact values, evicts oldest first, and stays within its entry and byte bounds", async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 300 }), async (ops) => {
      const core = await makeCore({ l1Entries: ENTRIES, l1Bytes: BYTES });
      const values = new Map<string, Uint8Array>();
      let order: string[] = []; // oldest first
      let serial = 0;
      for (const o of ops) {
        const key = `key:${o.key}`;
        if (o.kind === "put") {
          const reply = valueBlock(key, String(serial++ % 10).repeat(o.size));
          core.l1Put(key, reply);
          order = order.filter((k) => k !== key);
          order.push(key);
          values.set(key, reply);
          const present = core.l1Keys();
          // The survivors are exactly the newest entries of the model, in the same order.
          if (present.join() !== order.slice(order.length - present.length).join()) return false;
          for (const k of order.slice(0, order.length - present.length)) values.delete(k);
          order = present;
          if (present[present.length - 1] !== key) return false;
        } else if (o.kind === "get") {
          const got = core.l1Get(key);
          const want = values.get(key);
          if (Buffer.compare(Buffer.from(got?.reply ?? []), Buffer.from(want ?? [])) !== 0) return false;
          if ((got === undefined) !== (want === undefined)) return false;
        } else {
          if (core.l1Remove(key) !== values.delete(key)) return false;
          order = order.filter((k) => k !== key);
        }
        if (core.l1Count !== values.size || core.l1Count > ENTRIES || core.l1Bytes > BYTES) return false;
        const live = [...values].reduce((sum, [k, v]) => sum + blockSize(k, v), 0);
        if (core.l1Bytes < live) return false;
        if (core.checkState() !== 0) return false;
      }
      return true;
    }),
    { numRuns: 120 },
  );
  t.pass();
});

test("L1 lookups by full key, states and versions", async (t) => {
  const core = await makeCore({ l1Entries: 4, l1Bytes: 4096 });
  const reply = valueBlock("a", "1");
  core.l1Put("a", reply);
  t.deepEqual(core.l1Get("a")?.reply, reply);
  t.is(core.l1Get("a")?.state, abi.ST_VALID);
  t.is(core.l1Get("b"), undefined);
  t.is(core.l1Get("aa"), undefined);
  const v = core.beginWrite("a");
  t.is(core.l1Get("a")?.state, abi.ST_PENDING);
  t.is(core.observe(["a"])[0]?.reply, undefined, "a key with a write in flight is not served");
  t.false(core.completeWrite("a", v - 1n, valueBlock("a", "stale")), "a stale version is ignored");
  t.true(core.completeWrite("a", v, valueBlock("a", "2")));
  t.deepEqual(core.observe(["a"])[0]?.reply, valueBlock("a", "2"));
  const err = t.throws(() => core.l1Put("big", new Uint8Array(5000)), { instanceOf: CoreError });
  t.is(err?.coreCode, abi.E_TOO_LARGE);
});
