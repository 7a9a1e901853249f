// Hot-key replication through a real kvlb in front of four real memcached servers, with the cache
// off so that every get reaches a server. The oracle is memcached itself: which servers hold a
// copy (asked directly, under the copy's name), and which servers served the gets (get_hits).
import test from "ava";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { text, askServer, homeIndex, getHits } from "../support/cache-probe.js";
import { runHistoryLoad } from "../support/history-load.js";
import { until } from "../support/until.js";
import { portBase } from "../support/ports.js";

type ReplicaStats = {
  replicas: {
    made: number;
    retired: number;
    reads: number;
    fallbacks: number;
    copiesWritten: number;
    fills: number;
    setsCopied: number;
  };
};

let cluster: Cluster;
let client: UdpClient;

test.before(async () => {
  cluster = await startCluster(portBase("replication"), 4, ["--cache", "off", "--timeout", "500"]);
  client = new UdpClient(cluster.kvlbPort);
});
test.after.always(async () => {
  client?.close();
  await cluster?.stop();
});

const replicas = async (): Promise<ReplicaStats["replicas"]> =>
  ((await cluster.stats()) as unknown as ReplicaStats).replicas;

/** The name a copy has on its server: DEL, "KV", worker 0's letter, the key. */
const copyOf = (key: string): string => `\x7fKV0${key}`;

const direct = (port: number, payload: string): Promise<string> =>
  askServer(port, payload, /(END|DELETED|NOT_FOUND)\r\n$/);

/** The ports whose memcached holds a copy of `key` with `value`. */
async function holders(key: string, value: string): Promise<number[]> {
  const out: number[] = [];
  for (const port of cluster.backendPorts) {
    const reply = await direct(port, `get ${copyOf(key)}\r\n`);
    if (reply === `VALUE ${copyOf(key)} 0 ${value.length}\r\n${value}\r\nEND\r\n`) out.push(port);
  }
  return out;
}

async function hitsByPort(): Promise<number[]> {
  return Promise.all(cluster.backendPorts.map((p) => getHits(p)));
}

/** Gets `key` through kvlb `n` times; every reply must be `value` under the key's own name. */
async function getsOf(key: string, value: string, n: number, flags = 0): Promise<string[]> {
  const wrong: string[] = [];
  const want = `VALUE ${key} ${flags} ${value.length}\r\n${value}\r\nEND\r\n`;
  for (let i = 0; i < n; i++) {
    const reply = await text(client, `get ${key}\r\n`);
    if (reply !== want) wrong.push(reply);
  }
  return wrong;
}

const KEY = "rep-hot";

test.serial("a key with most of the reads gets copies on other servers, and its gets spread over them", async (t) => {
  t.is(await text(client, `set ${KEY} 0 0 5\r\nhello\r\n`), "STORED\r\n");
  await until(
    "a copy answers a get",
    async () => (await getsOf(KEY, "hello", 20)).length === 0 && (await replicas()).reads > 0,
    10_000,
  );
  const home = cluster.backendPorts[await homeIndex(cluster.backendPorts, KEY)] ?? 0;
  const copies = await holders(KEY, "hello");
  t.false(copies.includes(home), "the key's own server holds the key, not a copy");
  t.true(copies.length >= 2, `copies on ${copies.length} servers`);

  const before = await hitsByPort();
  t.deepEqual(await getsOf(KEY, "hello", 600), [], "every get answered with the value, under the key's name");
  const after = await hitsByPort();
  const served = cluster.backendPorts.map((p, i) => ({ port: p, gets: (after[i] ?? 0) - (before[i] ?? 0) }));
  const total = served.reduce((a, s) => a + s.gets, 0);
  t.true(total >= 600 && total <= 610, `memcached served ${total} gets for 600`);
  for (const s of served) {
    if (s.port === home || copies.includes(s.port)) {
      t.true(s.gets >= 600 / (copies.length + 1) / 2, `${s.port} served ${s.gets}: the reads spread over the set`);
    } else t.true(s.gets <= 5, `${s.port} holds no copy and served ${s.gets}`);
  }
});

test.serial("a client can name no copy: kvlb refuses keys that start with its mark in every protocol", async (t) => {
  t.regex(await text(client, `get ${copyOf(KEY)}\r\n`), /^CLIENT_ERROR/);
  t.regex(await text(client, `set ${copyOf(KEY)} 0 0 1\r\nx\r\n`), /^CLIENT_ERROR/);
  t.regex(await text(client, `mg ${copyOf(KEY)} v\r\n`), /^CLIENT_ERROR/);
  t.deepEqual(await holders(KEY, "hello").then((h) => h.length >= 2), true, "the copies are untouched");
});

test.serial("a set through kvlb is what every later get returns, and the copies are written anew", async (t) => {
  t.is(await text(client, `set ${KEY} 0 0 5\r\nworld\r\n`), "STORED\r\n");
  t.deepEqual(await getsOf(KEY, "world", 200), [], "no get after the set saw the old value");
  const reads = (await replicas()).reads;
  await until(
    "copies answer again",
    async () => (await getsOf(KEY, "world", 20)).length === 0 && (await replicas()).reads > reads,
    10_000,
  );
  t.true((await holders(KEY, "world")).length >= 2, "memcached holds the new value under each copy's name");
  t.deepEqual(await holders(KEY, "hello"), [], "no copy of the old value is left");
});

test.serial("a copy its server lost is a miss there, and kvlb answers the get from the key's own server", async (t) => {
  const copies = await holders(KEY, "world");
  for (const port of copies) t.is(await direct(port, `delete ${copyOf(KEY)}\r\n`), "DELETED\r\n");
  const fallbacks = (await replicas()).fallbacks;
  t.deepEqual(await getsOf(KEY, "world", 100), [], "never a miss: the key's own server has it");
  t.true((await replicas()).fallbacks > fallbacks, "kvlb counted the copies' misses");
});

test.serial(
  "a set of a key whose copies are current writes them too: memcached holds it under each copy, with no fill",
  async (t) => {
    await until(
      "the copies are current",
      async () => {
        const before = (await replicas()).reads;
        return (await getsOf(KEY, "world", 10)).length === 0 && (await replicas()).reads > before;
      },
      10_000,
    );
    const before = await replicas();
    const copies = await holders(KEY, "world");
    t.is(await text(client, `set ${KEY} 3 0 6\r\nagain!\r\n`), "STORED\r\n");
    await until("memcached holds the set under every copy", async () => {
      const reply = await Promise.all(copies.map((p) => direct(p, `get ${copyOf(KEY)}\r\n`)));
      return reply.every((r) => r === `VALUE ${copyOf(KEY)} 3 6\r\nagain!\r\nEND\r\n`);
    });
    t.deepEqual(await getsOf(KEY, "again!", 100, 3), [], "every get, from any server, has the set's value and flags");
    const after = await replicas();
    t.is(after.setsCopied - before.setsCopied, 1, "the set was copied");
    t.is(after.fills, before.fills, "no fill was needed: the copies stayed current");
    t.true(after.reads - before.reads >= 30, `copies answered ${after.reads - before.reads} of the 100 gets`);
  },
);

test.serial("8 clients reading and writing 4 replicated keys: no read returns a stale value", async (t) => {
  const load = { clients: 8, opsPerClient: 1000, keys: ["rep-a", "rep-b", "rep-c", "rep-d"], writeShare: 0.05 };
  let before = 0;
  const r = await runHistoryLoad(cluster.kvlbPort, "127.0.0.1", load, async () => {
    before = (await replicas()).reads;
  });
  t.true(r.unanswered < 20, `${r.unanswered} requests went unanswered`);
  t.deepEqual(r.violations.slice(0, 5), [], `${r.violations.length} reads broke consistency`);
  const copyReads = (await replicas()).reads - before;
  t.true(copyReads > r.reads / 4, `copies answered ${copyReads} of ${r.reads} reads: the test must exercise them`);
});

test.serial(
  "8 clients with 30% sets on 4 replicated keys: sets reach the copies, and no read returns a stale value",
  async (t) => {
    const load = { clients: 8, opsPerClient: 1000, keys: ["rep-w", "rep-x", "rep-y", "rep-z"], writeShare: 0.3 };
    let before = { reads: 0, setsCopied: 0 };
    const r = await runHistoryLoad(cluster.kvlbPort, "127.0.0.1", load, async () => {
      before = await replicas();
    });
    t.true(r.unanswered < 20, `${r.unanswered} requests went unanswered`);
    t.deepEqual(r.violations.slice(0, 5), [], `${r.violations.length} reads broke consistency`);
    const after = await replicas();
    t.true(
      after.setsCopied - before.setsCopied > 50,
      `${after.setsCopied - before.setsCopied} sets went to the copies`,
    );
    t.true(after.reads - before.reads > 0, "copies answered reads between the sets");
  },
);

test.serial("a set retires once its key cooled, and its gets go to its own server alone", async (t) => {
  // 100,000 other keys, 100 to a datagram: rep-hot's share falls far below the bar
  for (let d = 0; d < 1000; d++) {
    const keys = Array.from({ length: 100 }, (_, i) => `cold-${d}-${i}`).join(" ");
    await text(client, `get ${keys}\r\n`);
  }
  await until(
    "every set retires",
    async () => {
      const r = await replicas();
      return r.made > 0 && r.retired === r.made;
    },
    10_000,
  );
  const home = await homeIndex(cluster.backendPorts, KEY);
  const before = await hitsByPort();
  t.deepEqual(await getsOf(KEY, "again!", 50, 3), []);
  const after = await hitsByPort();
  t.true((after[home] ?? 0) - (before[home] ?? 0) >= 50, "the key's own server served every get");
});
