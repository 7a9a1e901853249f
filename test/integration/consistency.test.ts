// Reads and writes through kvlb from many clients at once, on a few keys hot enough to live in
// its cache: every read must return a value that was current at some moment during the read.
import test from "ava";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { checkHistory, type Write, type Read } from "../support/history.js";

const CLIENTS = 8;
const OPS_PER_CLIENT = 1400;
const KEYS = ["hist-a", "hist-b", "hist-c", "hist-d"];
const WRITE_SHARE = 0.3;

let cluster: Cluster;
test.before(async () => {
  cluster = await startCluster(45000 + (process.pid % 100) * 100, 3, ["--timeout", "500"]);
});
test.after.always(async () => {
  await cluster?.stop();
});

async function replyText(c: UdpClient, payload: string, until: RegExp): Promise<string | undefined> {
  const m = await c.request(payload, until);
  const text = Buffer.concat(m.map((x) => x.payload)).toString("latin1");
  return until.test(text) ? text : undefined;
}

test(`${CLIENTS} clients, ${CLIENTS * OPS_PER_CLIENT} operations on ${KEYS.length} hot keys: no read returns a stale value`, async (t) => {
  const writes: Write[] = [];
  const reads: Read[] = [];
  const setup = new UdpClient(cluster.kvlbPort);
  for (const key of KEYS) {
    const start = performance.now();
    t.is(await replyText(setup, `set ${key} 0 0 4\r\ninit\r\n`, /STORED\r\n$/), "STORED\r\n");
    writes.push({ key, value: "init", start, end: performance.now() });
  }
  setup.close();
  const before = (await cluster.stats()) as unknown as { cache: { l1Hits: number; l2Hits: number } };
  let unanswered = 0;

  const client = async (id: number): Promise<void> => {
    const c = new UdpClient(cluster.kvlbPort);
    let seed = id * 7919 + 1;
    const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let n = 0; n < OPS_PER_CLIENT; n++) {
      const key = KEYS[Math.floor(random() * KEYS.length)] ?? "";
      const start = performance.now();
      if (random() < WRITE_SHARE) {
        const value = `c${id}-${n}`;
        const ok = await replyText(c, `set ${key} 0 0 ${value.length}\r\n${value}\r\n`, /STORED\r\n$/);
        writes.push({ key, value, start, end: ok ? performance.now() : Infinity });
        if (!ok) unanswered++;
      } else {
        const text = await replyText(c, `get ${key}\r\n`, /END\r\n$/);
        if (text === undefined) {
          unanswered++;
          continue;
        }
        const m = /^VALUE \S+ 0 \d+\r\n(.*)\r\nEND\r\n$/s.exec(text);
        reads.push({ key, value: m?.[1], start, end: performance.now() });
      }
    }
    c.close();
  };
  await Promise.all(Array.from({ length: CLIENTS }, (_, i) => client(i)));

  t.true(reads.length + writes.length >= 10_000, `${reads.length} reads and ${writes.length} writes`);
  t.true(unanswered < 20, `${unanswered} requests went unanswered`);
  const violations = checkHistory(writes, reads);
  t.deepEqual(violations.slice(0, 5), [], `${violations.length} reads broke consistency`);
  await new Promise((r) => setTimeout(r, 700)); // the worker reports every 500 ms
  const after = (await cluster.stats()) as unknown as typeof before;
  const hits = after.cache.l1Hits + after.cache.l2Hits - before.cache.l1Hits - before.cache.l2Hits;
  t.true(hits > reads.length / 4, `the cache answered ${hits} of ${reads.length} reads: the test must exercise it`);
});
