// The share of the key space a ring change moves (host/control/ring-moves.ts), against
// libmemcached: the share of 20,000 keys whose home changes between the two server lists.
import test from "ava";
import { ringMoves } from "../../host/control/ring-moves.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";
import type { Backend } from "../../host/core/backends.js";

const server = (i: number, weight = 1): Backend => ({
  host: `10.7.0.${i}`,
  address: `10.7.0.${i}`,
  port: 11211,
  weight,
});
const keys = Array.from({ length: 20_000 }, (_, i) => `moves-${i}-${(i * 2654435761) % 9973}`);

function movedShare(before: readonly Backend[], after: readonly Backend[]): number {
  const a = libmemcachedHomes(before, keys).map((i) => before[i]?.host);
  const b = libmemcachedHomes(after, keys).map((i) => after[i]?.host);
  return a.filter((h, i) => h !== b[i]).length / keys.length;
}

for (const [name, before, after] of [
  ["a fourth server added", [server(1), server(2), server(3)], [server(1), server(2), server(3), server(4)]],
  ["a server removed", [server(1), server(2), server(3), server(4)], [server(1), server(3), server(4)]],
  ["a weight raised", [server(1), server(2), server(3)], [server(1), server(2, 3), server(3)]],
] as const) {
  test(`the share of keys that change owner when ${name} is libmemcached's, within a point`, async (t) => {
    const moves = await ringMoves(before, after);
    const expected = movedShare(before, after);
    t.true(Math.abs(moves.share - expected) < 0.01, `ring: ${moves.share}, libmemcached's keys: ${expected}`);
    t.true(moves.ranges > 0);
    const total = moves.moves.reduce((a, m) => a + m.share, 0);
    t.true(Math.abs(total - moves.share) < 1e-9, "the moves add up to the share");
  });
}

test("no change moves nothing", async (t) => {
  const list = [server(1), server(2)];
  const moves = await ringMoves(list, list);
  t.is(moves.share, 0);
  t.is(moves.ranges, 0);
});
