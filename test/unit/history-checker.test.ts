// The consistency test's checker, on histories whose answer is known.
import test from "ava";
import { checkHistory, type Write, type Read } from "../support/history.js";

const w = (value: string, start: number, end: number): Write => ({ key: "k", value, start, end });
const r = (value: string | undefined, start: number, end: number): Read => ({ key: "k", value, start, end });

test("reads of the current or an overlapping write pass", (t) => {
  const writes = [w("a", 0, 1), w("b", 5, 8), w("c", 20, Infinity)];
  const reads = [r("a", 2, 3), r("a", 6, 7), r("b", 6, 7), r("b", 9, 10), r("c", 9, 25), r("b", 21, 22)];
  t.deepEqual(checkHistory(writes, reads), []);
});

test("a value overwritten and acknowledged before the read began is stale", (t) => {
  const v = checkHistory([w("a", 0, 1), w("b", 5, 8)], [r("a", 9, 10)]);
  t.is(v.length, 1);
  t.regex(v[0]?.why ?? "", /stale: b/);
});

test("a value from the future, a value nobody wrote, and a miss are caught", (t) => {
  const v = checkHistory([w("a", 0, 1), w("b", 5, 8)], [r("b", 2, 3), r("zz", 2, 3), r(undefined, 2, 3)]);
  t.is(v.length, 3);
  t.regex(v[0]?.why ?? "", /began .* after the read ended/);
  t.regex(v[1]?.why ?? "", /nobody wrote/);
  t.regex(v[2]?.why ?? "", /a miss/);
});

test("an unacknowledged write never makes another value stale", (t) => {
  t.deepEqual(checkHistory([w("a", 0, 1), w("b", 2, Infinity)], [r("a", 50, 51), r("b", 52, 53)]), []);
});
