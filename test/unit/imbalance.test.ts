// The imbalance kvlb top, kvlb stats and the demo report: the busiest backend's share of the
// requests over the share its ketama weight gives it.
import test from "ava";
import { imbalance, chanceImbalance } from "../../host/util/imbalance.js";

test("a split that follows the weights 1:2 is perfectly balanced (1.00), not max/mean's 1.33", (t) => {
  t.is(imbalance([1000, 2000], [1, 2]), 1);
  t.is(imbalance([1000, 2000, 3000], [1, 2, 3]), 1);
});

test("with equal weights, or none, it is max/mean", (t) => {
  t.is(imbalance([10, 20, 30]), 1.5);
  t.is(imbalance([10, 20, 30], [5, 5, 5]), 1.5);
});

test("a backend that gets twice its weight's share reads 2; no requests read 0", (t) => {
  // weights 1:1:2, so the first is owed a quarter; it got half
  t.is(imbalance([500, 250, 250], [1, 1, 2]), 2);
  t.is(imbalance([0, 0], [1, 2]), 0);
});

// The oracle: for n servers and m requests each on average, the counts are close to normal with
// σ = √m, so max/mean ≈ 1 + E[max of n standard normals]/√m (E = 1.4236 for 8, 0.5642 for 2).
test("chance imbalance of an even random spread matches 1 + E[max of n normals]/sqrt(mean)", (t) => {
  const eight = chanceImbalance(8 * 400, 8, 400);
  t.true(Math.abs(eight - (1 + 1.4236 / 20)) < 0.01, `8 servers, 400 each: ${eight}`);
  const two = chanceImbalance(2 * 10000, 2, 400);
  t.true(Math.abs(two - (1 + 0.5642 / 100)) < 0.002, `2 servers, 10,000 each: ${two}`);
});

test("chance imbalance: one server is always balanced, no requests read 0", (t) => {
  t.is(chanceImbalance(1000, 1), 1);
  t.is(chanceImbalance(0, 8), 0);
});
