// Requests from a connection's byte stream (TCP), through the same core as datagrams: framed as
// memcached frames them, served one by one, their replies numbered for the host to order, and a
// "done" for each once nothing can add to its reply. The backends' answers are written from
// memcached's protocol.txt.
import test from "ava";
import { makeCore } from "../support/core.js";
import { streamBurst, ipv4, type Sent } from "../support/stream-driver.js";
import { setBackends, routeKey } from "../../host/core/backends.js";

const CONN = 7;
const backends = [
  { host: "10.0.2.1", address: "10.0.2.1", port: 11211, weight: 1 },
  { host: "10.0.2.2", address: "10.0.2.2", port: 11211, weight: 1 },
];
const stream = (text: string, seq = 0): { conn: number; seq: number; bytes: Buffer } => ({
  conn: CONN,
  seq,
  bytes: Buffer.from(text, "latin1"),
});
/** What the connection was sent, in order: each reply's text, and "done N" markers. */
const toConn = (sent: readonly Sent[]): string[] =>
  sent
    .filter((s) => (s.kind === "stream" || s.kind === "done") && s.addr === CONN)
    .map((s) => (s.kind === "done" ? `done ${s.seq}` : `${s.seq}: ${s.payload.toString("latin1")}`));

async function balancer(withBackends = true): Promise<Awaited<ReturnType<typeof makeCore>>> {
  const core = await makeCore({}, 1 << 20);
  if (withBackends) setBackends(core, backends);
  return core;
}

test("pipelined requests answered by kvlb itself come back numbered, each followed by its done, in order", async (t) => {
  const core = await balancer(false);
  const { taken, sent } = streamBurst(core, [stream("get a\r\nbogus\r\nget b\r\n", 40)]);
  t.deepEqual(taken, [{ bytes: 21, requests: 3, close: false }]);
  t.deepEqual(toConn(sent), [
    "40: SERVER_ERROR kvlb has no backends\r\n",
    "done 40",
    "41: ERROR\r\n",
    "done 41",
    "42: SERVER_ERROR kvlb has no backends\r\n",
    "done 42",
  ]);
});

test("a request not all here yet is left for the next burst: a line without its end, a set without all its data", async (t) => {
  const core = await balancer();
  const line = streamBurst(core, [stream("version\r\nget par")]);
  t.is(line.taken[0]?.bytes, 9, "the version is taken, the half line is not");
  t.is(line.taken[0]?.requests, 1);
  const data = streamBurst(core, [stream("set k 0 0 10\r\nhello", 1)]);
  t.deepEqual(data.taken, [{ bytes: 0, requests: 0, close: false }]);
  t.deepEqual(toConn(data.sent), []);
});

test("a get goes to its ketama backend, and the backend's answer comes back numbered, then done", async (t) => {
  const core = await balancer();
  const out = streamBurst(core, [stream("get k\r\n", 5)]);
  // kvlb's own asks for the value (mg) go out beside it
  const fwd = out.sent.filter((s) => s.kind === "backend" && s.payload.toString("latin1").startsWith("get "));
  t.is(fwd.length, 1);
  const owner = routeKey(core, "k");
  t.is(fwd[0]?.addr, ipv4(backends[owner]?.address ?? ""));
  t.is(fwd[0]?.payload.toString(), "get k\r\n");
  t.deepEqual(toConn(out.sent), [], "nothing to the connection until the backend answers");
  const id = fwd[0]?.seq ?? -1;
  const back = streamBurst(
    core,
    [],
    [{ addr: ipv4(backends[owner]?.address ?? ""), port: 11211, id, body: "VALUE k 0 1\r\nv\r\nEND\r\n" }],
  );
  t.deepEqual(toConn(back.sent), ["5: VALUE k 0 1\r\nv\r\nEND\r\n", "done 5"]);
});

test("a set whose value is too large to forward is answered as memcached answers, and skipped as it arrives; the key's old value is deleted first", async (t) => {
  const core = await balancer();
  const head = "set big 0 0 100000\r\n";
  const { taken, sent } = streamBurst(core, [stream(`${head}xxxx`, 9)]);
  t.deepEqual(taken, [{ bytes: head.length + 100002, requests: 1, close: false, again: true }]);
  // memcached unlinks the old item when a set is too large: kvlb deletes it at the key's server
  const owner = routeKey(core, "big");
  const deletes = sent.filter((s) => s.kind === "backend");
  t.deepEqual(
    deletes.map((s) => [s.addr, s.payload.toString("latin1")]),
    [[ipv4(backends[owner]?.address ?? ""), "delete big\r\n"]],
  );
  t.deepEqual(toConn(sent), ["9: SERVER_ERROR object too large for cache\r\n"], "not done while the delete is out");
  const back = streamBurst(
    core,
    [],
    [{ addr: ipv4(backends[owner]?.address ?? ""), port: 11211, id: deletes[0]?.seq ?? -1, body: "DELETED\r\n" }],
  );
  t.deepEqual(toConn(back.sent), ["done 9"], "the delete's own answer is swallowed");
});

test("a line that never ends closes the connection after a CLIENT_ERROR", async (t) => {
  const core = await balancer();
  const { taken, sent } = streamBurst(core, [stream(`get ${"k".repeat(140_000)}`, 3)]);
  t.true(taken[0]?.close);
  t.is(taken[0]?.requests, 1);
  t.deepEqual(toConn(sent), ["3: CLIENT_ERROR line too long\r\n", "done 3"]);
});

test("a binary request is framed by its body length, and its reply carries its opaque", async (t) => {
  const core = await balancer(false);
  // a binary get of "k" (opcode 0x00, key length 1, total body 1, opaque 0xdeadbeef), twice
  const get = Buffer.alloc(25);
  get[0] = 0x80;
  get.writeUInt16BE(1, 2);
  get.writeUInt32BE(1, 8);
  get.writeUInt32BE(0xdeadbeef, 12);
  get.write("k", 24);
  const { taken, sent } = streamBurst(core, [{ conn: CONN, seq: 0, bytes: Buffer.concat([get, get.subarray(0, 10)]) }]);
  t.deepEqual(taken, [{ bytes: 25, requests: 1, close: false }]);
  const replies = sent.filter((s) => s.kind === "stream");
  t.is(replies.length, 1);
  t.is(replies[0]?.payload[0], 0x81, "a binary response");
  t.is(replies[0]?.payload.readUInt32BE(12), 0xdeadbeef);
  t.deepEqual(
    sent.filter((s) => s.kind === "done").map((s) => s.seq),
    [0],
  );
});

test("the requests after a value too large to forward are passed again: the core asks for it", async (t) => {
  const core = await balancer(false);
  const big = `set big 0 0 70000\r\n${"y".repeat(70000)}\r\n`;
  const { taken } = streamBurst(core, [stream(`${big}get b\r\n`, 1)]);
  t.deepEqual(taken, [{ bytes: big.length, requests: 1, close: false, again: true }]);
});

test("requests wait for the next burst when the out ring could not hold all they may queue", async (t) => {
  const core = await makeCore({ outMax: 16 }, 1 << 20);
  const first = streamBurst(core, [stream("bogus\r\n".repeat(10), 0)]);
  t.deepEqual(
    first.taken,
    [{ bytes: 35, requests: 5, close: false, again: true }],
    "5 of 10: 2 queued each, 8 kept free",
  );
  t.deepEqual(
    toConn(first.sent),
    [0, 1, 2, 3, 4].flatMap((i) => [`${i}: ERROR\r\n`, `done ${i}`]),
  );
  const rest = streamBurst(core, [stream("bogus\r\n".repeat(5), 5)]);
  t.is(rest.taken[0]?.requests, 5);
  t.deepEqual(
    toConn(rest.sent),
    [5, 6, 7, 8, 9].flatMap((i) => [`${i}: ERROR\r\n`, `done ${i}`]),
  );
});
