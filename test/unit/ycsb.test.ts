// The YCSB streams bench:skew drives: each workload's write share, Zipf popularity, D's reads of
// the newest keys, and a shift that moves the hot set onto other keys. The oracle is counting
// what the stream produced.
import test from "ava";
import { YcsbStream, type Workload } from "../../host/load/ycsb.js";

const keys = Array.from({ length: 1000 }, (_, i) => `k${i}`);
const draw = (s: YcsbStream, n: number): { key: string; set: boolean }[] => Array.from({ length: n }, () => s.next());

for (const [w, share] of [
  ["A", 0.5],
  ["B", 0.05],
  ["C", 0],
  ["D", 0.05],
] as [Workload, number][]) {
  test(`workload ${w}: ${share * 100}% of operations are writes, within 1.5 points`, (t) => {
    const ops = draw(new YcsbStream(keys, w, 0.99, 1), 20_000);
    const writes = ops.filter((o) => o.set).length / ops.length;
    t.true(Math.abs(writes - share) < 0.015, `${(writes * 100).toFixed(1)}% writes`);
  });
}

test("Zipf 0.99: the most popular key takes about 1/H(1000, 0.99) of the reads, and the hot set moves on shift", (t) => {
  const s = new YcsbStream(keys, "C", 0.99, 2);
  const count = (ops: { key: string }[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const o of ops) m.set(o.key, (m.get(o.key) ?? 0) + 1);
    return m;
  };
  const before = count(draw(s, 50_000));
  const [top = "", topCount = 0] = [...before].sort((a, b) => b[1] - a[1])[0] ?? [];
  let h = 0;
  for (let r = 1; r <= 1000; r++) h += 1 / Math.pow(r, 0.99);
  t.true(
    Math.abs(topCount / 50_000 - 1 / h) < 0.01,
    `top share ${(topCount / 50_000).toFixed(3)}, expected ${(1 / h).toFixed(3)}`,
  );
  s.shift();
  const after = count(draw(s, 50_000));
  t.true((after.get(top) ?? 0) < topCount / 10, "the old top key is no longer hot");
  const [newTop = ""] = [...after].sort((a, b) => b[1] - a[1])[0] ?? [];
  t.not(newTop, top);
});

test("workload D reads the newest keys most, and its inserts are new keys", (t) => {
  const s = new YcsbStream(keys, "D", 0.99, 3);
  const ops = draw(s, 20_000);
  const inserts = ops.filter((o) => o.set);
  t.true(
    inserts.every((o) => !keys.includes(o.key)),
    "inserts name keys the preload never had",
  );
  t.is(new Set(inserts.map((o) => o.key)).size, inserts.length, "each insert is a new key");
  // the last reads favour keys inserted lately over the preloaded ones
  const lastReads = ops.slice(-5000).filter((o) => !o.set);
  const ofInserted = lastReads.filter((o) => !keys.includes(o.key)).length;
  t.true(ofInserted / lastReads.length > 0.3, `${ofInserted} of ${lastReads.length} late reads are of inserted keys`);
});
