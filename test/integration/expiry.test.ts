// Expiry through kvlb, with memcached itself as the oracle: once a backend answers a miss for an
// item that expired, kvlb answers it too, whether the value reached kvlb's cache from a read,
// from a set that gave it a TTL, or had its TTL cut short by gat or touch.
import test from "ava";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { text, askServer, homeIndex, makeCached as cached } from "../support/cache-probe.js";
import { portBase } from "../support/ports.js";

let cluster: Cluster;
let client: UdpClient;

test.before(async () => {
  cluster = await startCluster(portBase("expiry"), 2, ["--timeout", "500"]);
  client = new UdpClient(cluster.kvlbPort);
});
test.after.always(async () => {
  client?.close();
  await cluster?.stop();
});

const homePort = async (key: string): Promise<number> =>
  cluster.backendPorts[await homeIndex(cluster.backendPorts, key)] ?? 0;
const makeCached = (key: string): Promise<void> => cached(client, cluster.backendPorts, key);

const direct = async (key: string): Promise<string> => askServer(await homePort(key), `get ${key}\r\n`);

/** Polls the backend until it answers a miss for `key` (deadline 9 s); then asks kvlb at once. */
async function kvlbAfterBackendMiss(key: string): Promise<string> {
  const deadline = Date.now() + 9000;
  while ((await direct(key)) !== "END\r\n") {
    if (Date.now() > deadline) throw new Error(`${key} never expired at its backend`);
    await text(client, `get ${key}\r\n`); // keep it hot in kvlb meanwhile
  }
  return text(client, `get ${key}\r\n`);
}

test.serial("a value cached from a read with a 5 s TTL is a miss through kvlb once the backend drops it", async (t) => {
  t.is(await text(client, "set ttl-read 0 5 5\r\nhello\r\n"), "STORED\r\n");
  await makeCached("ttl-read");
  t.is(await text(client, "get ttl-read\r\n"), "VALUE ttl-read 0 5\r\nhello\r\nEND\r\n");
  t.is(await kvlbAfterBackendMiss("ttl-read"), "END\r\n");
  const stats = (await cluster.stats()) as unknown as { cache: { fills: number } };
  t.true(stats.cache.fills > 0);
});

test.serial("a set with a 5 s TTL on a cached key is served, then a miss once the backend drops it", async (t) => {
  t.is(await text(client, "set ttl-set 0 0 3\r\nold\r\n"), "STORED\r\n");
  await makeCached("ttl-set");
  t.is(await text(client, "set ttl-set 0 5 3\r\nnew\r\n"), "STORED\r\n");
  t.is(await text(client, "get ttl-set\r\n"), "VALUE ttl-set 0 3\r\nnew\r\nEND\r\n");
  t.is(await kvlbAfterBackendMiss("ttl-set"), "END\r\n");
});

test.serial("a set with exptime -1 on a cached key is a miss through kvlb at once", async (t) => {
  t.is(await text(client, "set ttl-neg 0 0 3\r\nold\r\n"), "STORED\r\n");
  await makeCached("ttl-neg");
  t.is(await text(client, "set ttl-neg 0 -1 3\r\nnew\r\n"), "STORED\r\n");
  t.is(await direct("ttl-neg"), "END\r\n", "memcached: already expired");
  t.is(await text(client, "get ttl-neg\r\n"), "END\r\n");
});

test.serial("gat and touch that shorten a cached key's TTL: kvlb follows the backend to the miss", async (t) => {
  for (const [key, cut] of [
    ["ttl-gat", "gat 2 ttl-gat\r\n"],
    ["ttl-touch", "touch ttl-touch 2\r\n"],
  ] as const) {
    t.is(await text(client, `set ${key} 0 0 3\r\nabc\r\n`), "STORED\r\n");
    await makeCached(key);
    t.regex(await text(client, cut), /^(VALUE ttl-gat 0 3\r\nabc\r\nEND|TOUCHED)\r\n$/);
    t.is(await kvlbAfterBackendMiss(key), "END\r\n", key);
  }
});
