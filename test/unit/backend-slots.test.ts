// Where a reload puts each backend in the core's table (host/control/backend-slots.ts): the
// expected tables are written out by hand for each case.
import test from "ava";
import { planSlots } from "../../host/control/backend-slots.js";
import type { Backend, BackendSlot } from "../../host/core/backends.js";

const b = (port: number, weight = 1): Backend => ({ host: "10.0.0.1", address: "10.0.0.1", port, weight });
const ports = (slots: readonly BackendSlot[]): string[] => slots.map((s) => `${s.port}${s.retired ? "r" : ""}`);
const idle = (): number => 0;

test("a backend that stays keeps its entry and its counters; a new one goes at the end", (t) => {
  const p = planSlots([b(1), b(2)], [b(2), b(1), b(3)], idle);
  t.deepEqual(ports(p.slots), ["1", "2", "3"]);
  t.is(p.keep, 0b011n);
  t.deepEqual(p.added, [b(3)]);
  t.deepEqual(p.removed, []);
});

test("a backend that leaves is retired in place, its counters kept, while it drains", (t) => {
  const p = planSlots([b(1), b(2), b(3)], [b(1), b(3)], idle);
  t.deepEqual(ports(p.slots), ["1", "2r", "3"]);
  t.is(p.keep, 0b111n);
  t.deepEqual(p.removed, [b(2)]);
});

test("a retired entry with requests in flight stays; a drained one takes the next new backend", (t) => {
  const current: BackendSlot[] = [b(1), { ...b(2), retired: true }, { ...b(3), retired: true }];
  const busy = (i: number): number => (i === 1 ? 4 : 0);
  const p = planSlots(current, [b(1), b(4)], busy);
  t.deepEqual(ports(p.slots), ["1", "2r", "4"]);
  t.is(p.keep, 0b011n, "entry 2 starts anew for its new server");
});

test("drained retired entries at the end of the table are dropped; one in the middle stays retired", (t) => {
  const current: BackendSlot[] = [b(1), { ...b(2), retired: true }, b(3), { ...b(4), retired: true }];
  const p = planSlots(current, [b(1), b(3)], idle);
  t.deepEqual(ports(p.slots), ["1", "2r", "3"]);
  t.is(p.keep & 0b101n, 0b101n);
});

test("a weight change keeps the entry and is reported; a retired backend named again comes back in its entry", (t) => {
  const p = planSlots([b(1), { ...b(2), retired: true }], [b(1, 5), b(2)], (i) => (i === 1 ? 1 : 0));
  t.deepEqual(ports(p.slots), ["1", "2"]);
  t.is(p.slots[0]?.weight, 5);
  t.deepEqual(p.reweighted, [b(1, 5)]);
  t.deepEqual(p.added, [b(2)]);
  t.is(p.keep, 0b11n);
});

test("more entries than the table holds is refused with what to do", (t) => {
  const current = Array.from({ length: 64 }, (_, i) => b(i + 1));
  const e = t.throws(() => planSlots(current, [b(100)], (i) => (i < 64 ? 1 : 0)));
  t.regex(e?.message ?? "", /kvlb has 64 .*reload again once they have drained/);
});
