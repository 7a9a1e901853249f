// Two workers' cores share nothing but the write events PeerLink carries between them. A key
// that worker B caches is written through worker A: once A has published the write's begin and
// B has taken it, B no longer serves the old value, and it refuses to fill from a read that
// overlapped the write. Without the events, B serves the overwritten value.
import test from "ava";
import { Worker } from "node:worker_threads";
import { parseFrame } from "../support/frames.js";
import { frameBalancer, fromClient, fromBackend, at, backendReplies, isFillAsk } from "../support/frame-balancer.js";
import { routeKey } from "../../host/core/backends.js";
import { createPeerRings } from "../../host/worker/peer-link.js";
import { PORT_A, PORT_B, peerWorker, burst, get, warm, type PeerWorker } from "../support/peer-worker.js";
import type { ReaderData, ReaderMessage } from "../support/peer-reader-thread.js";
import { setFrameMode } from "../../host/core/frame-tables.js";
import * as abi from "../../assembly/abi/abi.js";

const config = { peerEvents: 64 };

async function twoWorkers(capacity?: number): Promise<[PeerWorker, PeerWorker]> {
  const rings = createPeerRings(2, capacity);
  return [await peerWorker(rings, 0, PORT_A, config), await peerWorker(rings, 1, PORT_B, config)];
}

test("a write through one worker stops another from serving the value it replaced", async (t) => {
  const [a, b] = await twoWorkers();
  const owner = routeKey(a.core, "k");
  t.is(warm(b, "k", "old"), "VALUE k 0 3\r\nold\r\nEND\r\n");

  // A forwards the set; its host publishes the begin before the frame leaves.
  const set = burst(a, [fromClient(2, "set k 0 0 3\r\nnew\r\n", 40010)]);
  const setId = parseFrame(at(set, 0).bytes).payload.readUInt16BE(0);

  // B takes it at its next burst, before the read in that burst: the read goes to the backend,
  // and B does not ask for the value while the write is in flight.
  const during = burst(b, [fromClient(3, "get k\r\n")]);
  t.is(during.length, 1);
  t.is(parseFrame(at(during, 0).bytes).dport, 11211, "not served from B's cache while A's write is in flight");
  t.false(isFillAsk(at(during, 0)));

  // The write completes: A acknowledges it and publishes its end.
  const ack = burst(a, [fromBackend(owner, PORT_A, setId, "STORED\r\n")], 1);
  t.is(parseFrame(at(ack, 0).bytes).payload.subarray(8).toString(), "STORED\r\n");
  t.is(warm(b, "k", "new"), "VALUE k 0 3\r\nnew\r\nEND\r\n", "B caches again, now the new value");
  t.true((b.core.stats()["peer_events_in"] ?? 0n) >= 2n);
  t.is(a.core.stats()["peer_events_out"], 2n, "one begin, one end");
});

test("a value B asked for before another worker's write began does not fill B's cache", async (t) => {
  const [a, b] = await twoWorkers();
  const owner = routeKey(a.core, "k2");
  const asked = burst(b, [fromClient(1, "get k2\r\n")]);
  t.true(asked.some(isFillAsk), "B asks for k2's value");
  const set = burst(a, [fromClient(2, "set k2 0 0 3\r\nnew\r\n", 40010)]);
  burst(b, [], 0); // B takes A's begin
  burst(b, backendReplies(asked, { k2: "old" }, PORT_B), 1); // the backend answered before the write
  t.true((b.core.stats()["stale_fills"] ?? 0n) >= 1n, "the overlapping ask did not fill");
  burst(a, [fromBackend(owner, PORT_A, parseFrame(at(set, 0).bytes).payload.readUInt16BE(0), "STORED\r\n")], 1);
  t.is(warm(b, "k2", "new"), "VALUE k2 0 3\r\nnew\r\nEND\r\n");
});

test("without the write events, the other worker serves the overwritten value (the hazard)", async (t) => {
  const [a, b] = await twoWorkers();
  const owner = routeKey(a.core, "k");
  warm(b, "k", "old");
  const set = a.io.burst([fromClient(2, "set k 0 0 3\r\nnew\r\n", 40010)]);
  a.io.burst([fromBackend(owner, PORT_A, parseFrame(at(set, 0).bytes).payload.readUInt16BE(0), "STORED\r\n")], 1);
  t.is(b.io.burst([fromClient(3, "get k\r\n")]).length, 1);
  const r = parseFrame(at(b.io.burst([fromClient(3, "get k\r\n")]), 0).bytes);
  t.is(r.payload.subarray(8).toString(), "VALUE k 0 3\r\nold\r\nEND\r\n", "stale: what the events prevent");
});

test("events wrap around a small ring and none is lost", async (t) => {
  const [a, b] = await twoWorkers(4);
  const owner = routeKey(a.core, "w");
  for (let round = 0; round < 5; round++) {
    warm(b, "w", `v${round}`);
    const set = burst(a, [fromClient(2, `set w 0 0 2\r\nv${round + 1}\r\n`, 40010)]);
    burst(a, [fromBackend(owner, PORT_A, parseFrame(at(set, 0).bytes).payload.readUInt16BE(0), "STORED\r\n")], 1);
    t.is(get(b, "w").cached, undefined, `round ${round}: B dropped the key`);
  }
  t.is(b.core.stats()["peer_events_in"], 10n, "5 begins and 5 ends through a ring of 4");
});

test("a backend reply to another worker's port is not matched; replies the kernel takes are left to it", async (t) => {
  const { core, io } = await frameBalancer(PORT_A);
  const owner = routeKey(core, "k");
  const id = parseFrame(at(io.burst([fromClient(1, "get k\r\n")]), 0).bytes).payload.readUInt16BE(0);
  const reply = (port: number): Buffer => fromBackend(owner, port, id, "VALUE k 0 1\r\nv\r\nEND\r\n");
  t.is(io.burst([reply(PORT_B)], 1).length, 0, "another worker's reply is not answered from this NAT table");
  t.is(core.stats()["frame_not_ours"], 1n);

  setFrameMode(core, { repliesViaKernel: true });
  t.is(io.burst([reply(PORT_A)], 1).length, 0, "the kernel socket delivers this reply instead");
  t.is(core.stats()["frame_reply_via_kernel"], 1n);
  t.is(core.stats()["backend_datagrams"], 0n);

  setFrameMode(core, { repliesViaKernel: false });
  t.is(io.burst([reply(PORT_A)], 1).length, 1, "the same reply, as a frame, reaches the client");
});

test("a write that finds no room for its events is refused with SERVER_ERROR; no event is ever dropped", async (t) => {
  const { core, io } = await frameBalancer(PORT_A, { peerEvents: 8 });
  const sets = Array.from({ length: 10 }, (_, i) => fromClient(100 + i, `set w${i} 0 0 1\r\nx\r\n`, 41000 + i));
  const out = io.burst(sets);
  const toBackends = out.filter((f) => parseFrame(f.bytes).dport === 11211);
  const refused = out.filter(
    (f) => parseFrame(f.bytes).payload.subarray(8).toString() === "SERVER_ERROR kvlb is overloaded\r\n",
  );
  // each write holds room for its begin, its end, and the ends of the writes before it
  t.is(toBackends.length, 4, "8 places: 2+0, 2+1 in flight, 2+2, 2+3 (the 5th would need 10)");
  t.is(refused.length, 6, "the others were told, not silently dropped");
  t.is(core.stats()["peer_overflow"], 0n);
  t.is(core.stats()["peer_events_out"], 4n, "four begins");
  // the ends of the four find their room in a later call
  const replies = toBackends.map((f) => {
    const p = parseFrame(f.bytes).payload;
    const key = p.subarray(8).toString().split(" ")[1] ?? "";
    return fromBackend(routeKey(core, key), PORT_A, p.readUInt16BE(0), "STORED\r\n");
  });
  core.u32[(abi.HEADER_BASE + abi.H_PEER_OUT) >>> 2] = 0; // the host took the begins
  io.burst(replies, 1);
  t.is(core.stats()["peer_events_out"], 8n, "and four ends");
  t.is(core.stats()["peer_overflow"], 0n);
});

test("a writer whose ring is full waits for a reader that lags in another thread; the reader gets every event and drops every written key", async (t) => {
  const rings = createPeerRings(2, 4);
  const keys = Array.from({ length: 6 }, (_, i) => `full-${i}`);
  // a worker thread does not inherit ava's TypeScript loader: it registers tsx, then loads the file
  const thread = new URL("../support/peer-reader-thread.ts", import.meta.url).href;
  const reader = new Worker(
    `import { register } from "tsx/esm/api"; register(); await import(${JSON.stringify(thread)});`,
    {
      eval: true,
      workerData: { rings, keys, events: 2 * keys.length } satisfies ReaderData,
    },
  );
  t.teardown(() => reader.terminate());
  const next = (): Promise<ReaderMessage> =>
    new Promise((resolve, reject) => {
      reader.once("message", resolve);
      reader.once("error", reject);
    });
  t.is((await next()).kind, "warm", "the reader cached the keys");
  const done = next();

  const a = await peerWorker(rings, 0, PORT_A, config);
  // six begins into a ring of four: publish() waits until the reader, which takes nothing
  // while the ring has room, has seen it full and drained it
  const sets = burst(
    a,
    keys.map((k, i) => fromClient(10 + i, `set ${k} 0 0 3\r\nnew\r\n`, 41000 + i)),
  );
  t.is(sets.length, keys.length, "every set was forwarded");
  t.true(a.link.waits > 0, "the writer found its ring full and waited");
  const acks = sets.map((f) => {
    const p = parseFrame(f.bytes).payload;
    const key = p.subarray(8).toString().split(" ")[1] ?? "";
    return fromBackend(routeKey(a.core, key), PORT_A, p.readUInt16BE(0), "STORED\r\n");
  });
  const stored = burst(a, acks, 1);
  t.is(stored.filter((f) => parseFrame(f.bytes).payload.subarray(8).toString() === "STORED\r\n").length, keys.length);

  const result = await done;
  if (result.kind !== "done") return t.fail(`unexpected ${result.kind}`);
  t.true(result.sawFull, "the reader lagged until the ring was full");
  t.is(result.eventsIn, 2 * keys.length, "every begin and end arrived");
  t.is(a.core.stats()["peer_events_out"], BigInt(2 * keys.length));
  t.deepEqual(result.stillCached, [], "each begin dropped its key from the reader's cache");
});
