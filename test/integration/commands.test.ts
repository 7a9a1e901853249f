// The rest of the command set through kvlb against real memcached servers: noreply writes,
// incr/decr and touch, gat, meta commands with q and mn, and the binary protocol.
import test from "ava";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { portBase } from "../support/ports.js";

let cluster: Cluster;
let client: UdpClient;

test.before(async () => {
  cluster = await startCluster(portBase("commands"), 3, ["--timeout", "300"]);
  client = new UdpClient(cluster.kvlbPort);
});
test.after.always(async () => {
  client?.close();
  await cluster?.stop();
});

const text = async (payload: string | Buffer, until?: RegExp): Promise<string> =>
  Buffer.concat((await client.request(payload, until)).map((m) => m.payload)).toString("latin1");

test.serial("noreply writes are applied and answer nothing; the next get sees them", async (t) => {
  for (let i = 0; i < 10; i++) {
    const m = await client.request(`set nr-${i} 3 0 2 noreply\r\nv${i}\r\n`, undefined, 150);
    t.is(m.length, 0, "no reply to a noreply set");
    t.is(await text(`get nr-${i}\r\n`, /END\r\n$/), `VALUE nr-${i} 3 2\r\nv${i}\r\nEND\r\n`);
  }
  t.is((await client.request("delete nr-0 noreply\r\n", undefined, 150)).length, 0);
  t.is(await text("get nr-0\r\n", /END\r\n$/), "END\r\n");
});

test.serial("incr, decr, touch and gat go to the key's backend", async (t) => {
  t.is(await text("set counter 0 0 2\r\n10\r\n"), "STORED\r\n");
  t.is(await text("incr counter 5\r\n"), "15\r\n");
  t.is(await text("decr counter 3\r\n"), "12\r\n");
  t.is(await text("touch counter 100\r\n"), "TOUCHED\r\n");
  t.is(await text("gat 100 counter\r\n", /END\r\n$/), "VALUE counter 0 2\r\n12\r\nEND\r\n");
  t.is(await text("incr nothing-here 1\r\n"), "NOT_FOUND\r\n");
});

test.serial("meta commands: ms, mg with k and O, md, and q hidden answers closed by mn", async (t) => {
  t.is(await text("ms meta-a 3 T0\r\nabc\r\n", /\r\n$/), "HD\r\n");
  t.is(await text("mg meta-a v k Oxy\r\n", /\r\n$/), "VA 3 kmeta-a Oxy\r\nabc\r\n");
  // q hides the miss (EN) and the stored (HD); MN follows everything
  const reply = await text("mg meta-missing v q\r\nms meta-b 1 q\r\nz\r\nmg meta-a v q\r\nmn\r\n", /MN\r\n$/);
  t.is(reply, "VA 3\r\nabc\r\nMN\r\n");
  t.is(await text("mg meta-b v\r\n", /\r\n$/), "VA 1\r\nz\r\n");
  t.is(await text("md meta-b\r\n", /\r\n$/), "HD\r\n");
  t.is(await text("mg meta-b v\r\n", /\r\n$/), "EN\r\n");
});

function binaryRequest(opcode: number, key: string, extras = Buffer.alloc(0), value = Buffer.alloc(0)): Buffer {
  const k = Buffer.from(key);
  const header = Buffer.alloc(24);
  header[0] = 0x80;
  header[1] = opcode;
  header.writeUInt16BE(k.length, 2);
  header[4] = extras.length;
  header.writeUInt32BE(extras.length + k.length + value.length, 8);
  header.writeUInt32BE(0xabcd, 12);
  return Buffer.concat([header, extras, k, value]);
}

test.serial("binary protocol: a set and a get by key come back with status 0 and the value", async (t) => {
  const extras = Buffer.alloc(8); // flags, expiry
  const set = (await client.request(binaryRequest(0x01, "bin-key", extras, Buffer.from("binval")), undefined, 300))[0];
  t.truthy(set);
  t.is(set?.payload[0], 0x81);
  t.is(set?.payload.readUInt16BE(6), 0, "set status");
  const got = (await client.request(binaryRequest(0x00, "bin-key"), undefined, 300))[0];
  t.is(got?.payload.readUInt16BE(6), 0, "get status");
  t.is(got?.payload.readUInt32BE(12), 0xabcd, "opaque echoed");
  t.is(got?.payload.subarray(24 + 4).toString(), "binval");
  // the ASCII side sees the same key on the same backend
  t.is(await text("get bin-key\r\n", /END\r\n$/), "VALUE bin-key 0 6\r\nbinval\r\nEND\r\n");
});

test.serial("a non-zero reserved field and control bytes in a key are served, as memcached serves them", async (t) => {
  const key = "\x10\x10ctl\x01key";
  t.is(await text(`set ${key} 0 0 3\r\nabc\r\n`), "STORED\r\n");
  const reply = await client.exchange(client.frame(`get ${key}\r\n`, 4242, 1, 0x0100), /END\r\n$/);
  t.is(Buffer.concat(reply.map((m) => m.payload)).toString("latin1"), `VALUE ${key} 0 3\r\nabc\r\nEND\r\n`);
  const stats = (await cluster.stats()) as unknown as { datagrams: Record<string, number> };
  t.true((stats.datagrams["reservedNotZero"] ?? 0) >= 1, "the odd header is counted");
});

test.serial("several gets in one datagram: each gets its own END, as memcached answers them", async (t) => {
  const keys = ["pipe-a", "pipe-b", "pipe-c", "pipe-d"];
  for (const k of keys) t.is(await text(`set ${k} 0 0 ${k.length}\r\n${k}\r\n`), "STORED\r\n");
  const messages = await client.request(
    `get pipe-a\r\nget pipe-b pipe-c\r\nget pipe-none\r\ngets pipe-d\r\n`,
    /(?!)/, // never matches: gather until the replies go quiet
    400,
  );
  const all = messages.map((m) => m.payload.toString("latin1")).join("");
  t.is(all.match(/END\r\n/g)?.length, 4);
  for (const k of ["pipe-a", "pipe-b", "pipe-c"]) t.true(all.includes(`VALUE ${k} 0 ${k.length}\r\n${k}\r\n`), k);
  t.regex(all, /VALUE pipe-d 0 6 \d+\r\npipe-d\r\n/);
  t.true(messages.every((m) => m.payload.toString("latin1").endsWith("\r\n")));
});
