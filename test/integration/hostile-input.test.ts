// Datagrams an attacker would send, through kvlb run in front of three real memcached servers:
// lengths that wrap, lengths that lie, binary datagrams with several requests, the commands kvlb
// refuses in every protocol, and meta keys in base64. After each, kvlb still serves and every
// backend still answers a client that talks to it directly.
import test from "ava";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { text, askServer, homeIndex, makeCached as cached } from "../support/cache-probe.js";
import { answersVersion } from "../../host/testbed/memcached.js";
import { binaryRequest, binaryResponses, setExtras, OP, STATUS } from "../support/binary-protocol.js";
import { portBase } from "../support/ports.js";

const END = /END\r\n$/;
let cluster: Cluster;
let client: UdpClient;

test.before(async () => {
  cluster = await startCluster(portBase("hostile-input"), 3, ["--timeout", "300"]);
  client = new UdpClient(cluster.kvlbPort);
});
test.after.always(async () => {
  client?.close();
  await cluster?.stop();
});

const backendOf = (key: string): Promise<number> => homeIndex(cluster.backendPorts, key);
const makeCached = (key: string): Promise<void> => cached(client, cluster.backendPorts, key);

/** What a backend holds for a key, asked directly, not through kvlb. */
const direct = (port: number, key: string): Promise<string> => askServer(port, `get ${key}\r\n`, END);

async function everyBackendAnswers(): Promise<boolean[]> {
  return Promise.all(cluster.backendPorts.map((p) => answersVersion(p, 1000)));
}

interface Counters {
  forwarded: number;
}
async function forwarded(): Promise<number> {
  return ((await cluster.stats()) as unknown as Counters).forwarded;
}

test.serial(
  "a set or ms whose length wraps 32 bits is refused (set: as memcached refuses a length past 2^31) and kvlb keeps serving",
  async (t) => {
    t.is(await text(client, "mn\r\nset k 0 0 4294967272\r\n"), "CLIENT_ERROR bad command line format\r\n");
    t.is(await text(client, "mn\r\nms k 4294967277\r\n"), "CLIENT_ERROR bad data chunk\r\n");
    t.is(await text(client, "set k 0 0 4294967295\r\nabc\r\n"), "CLIENT_ERROR bad command line format\r\n");
    t.is(cluster.kvlb.exitCode, null, "kvlb is still running");
    t.is(await text(client, "set after-wrap 0 0 2\r\nok\r\n"), "STORED\r\n");
    t.is(await text(client, "get after-wrap\r\n", END), "VALUE after-wrap 0 2\r\nok\r\nEND\r\n");
  },
);

test.serial("a 251-byte key with a wrapping length does not loop: the next request is answered", async (t) => {
  const key = "x".repeat(251);
  client.sendRaw(client.frame(`set ${key} 0 0 4294967272\r\n`));
  client.sendRaw(client.frame(`mn\r\nset ${key} 0 0 4294967294\r\n\r\n`));
  t.is(await text(client, "set after-loop 0 0 2\r\nok\r\n"), "STORED\r\n");
  t.is(await text(client, "get after-loop\r\n", END), "VALUE after-loop 0 2\r\nok\r\nEND\r\n");
});

test.serial("a set whose data is longer than its datagram is refused and never reaches a backend", async (t) => {
  const before = await forwarded();
  t.is(await text(client, "set short 0 0 1000\r\nabc\r\n"), "CLIENT_ERROR bad data chunk\r\n");
  t.is(await text(client, "ms short 1000\r\nabc\r\n"), "CLIENT_ERROR bad data chunk\r\n");
  t.is(await forwarded(), before, "nothing was forwarded");
  t.deepEqual(await everyBackendAnswers(), [true, true, true]);
});

test.serial("a binary set whose body runs past its datagram gets Invalid arguments and is not forwarded", async (t) => {
  const before = await forwarded();
  const lie = binaryRequest({ opcode: OP.set, key: "bin-short", extras: setExtras(), value: "abc", opaque: 77 });
  lie.writeUInt32BE(1009, 8);
  const replies = binaryResponses(Buffer.from(await text(client, lie, /[\s\S]/), "latin1"));
  t.like(replies, [{ opcode: OP.set, status: STATUS.invalidArguments, opaque: 77 }]);
  // a key and extras longer than the body they sit in
  const inside = binaryRequest({ opcode: OP.get, key: "bin-short", opaque: 78, declaredBody: 3 });
  t.like(binaryResponses(Buffer.from(await text(client, inside, /[\s\S]/), "latin1")), [
    { opcode: OP.get, status: STATUS.invalidArguments, opaque: 78 },
  ]);
  t.is(await forwarded(), before, "nothing was forwarded");
  t.deepEqual(await everyBackendAnswers(), [true, true, true]);
});

test.serial("every request of a binary datagram is routed to its own key's backend and answered", async (t) => {
  const keys = Array.from({ length: 6 }, (_, i) => `bin-multi-${i}`);
  const homes = new Set(await Promise.all(keys.map(backendOf)));
  t.true(homes.size >= 2, "the keys span backends");
  const sets = Buffer.concat(
    keys.map((k, i) => binaryRequest({ opcode: OP.set, key: k, extras: setExtras(), value: `v-${k}`, opaque: i })),
  );
  const stored = await client.exchange(client.frame(sets), undefined, 400);
  const setReplies = stored.flatMap((m) => binaryResponses(m.payload));
  t.deepEqual(setReplies.map((r) => r.opaque).sort(), [0, 1, 2, 3, 4, 5]);
  t.true(setReplies.every((r) => r.status === STATUS.ok));
  for (const k of keys)
    t.is(
      await direct(cluster.backendPorts[await backendOf(k)] ?? 0, k),
      `VALUE ${k} 0 ${`v-${k}`.length}\r\nv-${k}\r\nEND\r\n`,
    );
  // quiet gets: the hits come back, the miss is swallowed, the noop comes last
  const gets = Buffer.concat([
    ...keys.map((k, i) => binaryRequest({ opcode: OP.getkq, key: k, opaque: 100 + i })),
    binaryRequest({ opcode: OP.getq, key: "bin-multi-missing", opaque: 200 }),
    binaryRequest({ opcode: OP.noop, opaque: 300 }),
  ]);
  const got = (await client.exchange(client.frame(gets), undefined, 400)).flatMap((m) => binaryResponses(m.payload));
  t.is(got.at(-1)?.opcode, OP.noop, "noop answers after every reply before it");
  t.is(got.at(-1)?.opaque, 300);
  const hits = got.slice(0, -1);
  t.deepEqual(hits.map((r) => r.key).sort(), [...keys].sort());
  t.true(hits.every((r) => r.status === STATUS.ok && r.value === `v-${r.key}`));
});

test.serial(
  "a binary set behind a get in one datagram goes through the barrier: the cache drops the old value",
  async (t) => {
    t.is(await text(client, "set bin-cached 0 0 3\r\nold\r\n"), "STORED\r\n");
    await makeCached("bin-cached");
    t.is(await text(client, "get bin-cached\r\n", END), "VALUE bin-cached 0 3\r\nold\r\nEND\r\n");
    const datagram = Buffer.concat([
      binaryRequest({ opcode: OP.get, key: "bin-other", opaque: 1 }),
      binaryRequest({ opcode: OP.set, key: "bin-cached", extras: setExtras(), value: "NEW", opaque: 2 }),
    ]);
    const replies = (await client.exchange(client.frame(datagram), undefined, 400)).flatMap((m) =>
      binaryResponses(m.payload),
    );
    t.like(
      replies.find((r) => r.opaque === 2),
      { opcode: OP.set, status: STATUS.ok },
    );
    t.is(await text(client, "get bin-cached\r\n", END), "VALUE bin-cached 0 3\r\nNEW\r\nEND\r\n");
  },
);

test.serial(
  "binary flush, stat and verbosity are refused as Not supported, quit is answered by kvlb, and none reaches a backend",
  async (t) => {
    t.is(await text(client, "set survives-flush 0 0 1\r\ny\r\n"), "STORED\r\n");
    const before = await forwarded();
    for (const opcode of [OP.flush, OP.flushq, OP.stat, OP.verbosity, OP.quit]) {
      const extras = opcode === OP.verbosity ? Buffer.alloc(4) : undefined;
      const r = binaryResponses(
        Buffer.from(await text(client, binaryRequest({ opcode, extras, opaque: opcode }), /[\s\S]/), "latin1"),
      );
      const status = opcode === OP.quit ? STATUS.ok : STATUS.notSupported;
      t.like(r, [{ opcode, status, opaque: opcode }], `opcode ${opcode}`);
    }
    for (const word of ["flush_all", "stats", "verbosity 1", "shutdown", "lru_crawler metadump all", "watch"]) {
      t.regex(await text(client, `${word}\r\n`), /^SERVER_ERROR not supported through kvlb/, word);
    }
    t.is(await forwarded(), before, "nothing was forwarded");
    const home = cluster.backendPorts[await backendOf("survives-flush")] ?? 0;
    t.is(await direct(home, "survives-flush"), "VALUE survives-flush 0 1\r\ny\r\nEND\r\n");
  },
);

test.serial("a meta key in base64 is routed and cached by its decoded key", async (t) => {
  t.is(await text(client, "set bk 0 0 3\r\nold\r\n"), "STORED\r\n");
  await makeCached("bk");
  t.is(await text(client, "get bk\r\n", END), "VALUE bk 0 3\r\nold\r\nEND\r\n");
  t.is(await text(client, "ms Yms= 3 b\r\nNEW\r\n", /\r\n$/), "HD\r\n"); // "Yms=" is "bk"
  t.is(await text(client, "get bk\r\n", END), "VALUE bk 0 3\r\nNEW\r\nEND\r\n");
  t.is(await direct(cluster.backendPorts[await backendOf("bk")] ?? 0, "bk"), "VALUE bk 0 3\r\nNEW\r\nEND\r\n");
  t.is(await text(client, "mg Yms= b v\r\n", /\r\n$/), "VA 3\r\nNEW\r\n");
  t.is(await text(client, "mg Y!s= b v\r\n", /\r\n$/), "CLIENT_ERROR error decoding key\r\n");
});
