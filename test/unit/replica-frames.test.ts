// Hot-key replication on the frame path, byte by byte: kvlb's own mg and ms, a client's get sent
// to a copy, and the copy's reply cut back to the key's name in the frame it arrived in, with
// headers a client accepts. The backends are a model of memcached's get, mg and ms (each server
// its own store), written from memcached's protocol.txt; the cache is off, so every get goes out.
import test from "ava";
import { frameBalancer, fromClient, fromBackend, at, backendAt } from "../support/frame-balancer.js";
import { parseFrame } from "../support/frames.js";
import type { SentFrame } from "../support/frame-driver.js";
import { setBackendState } from "../../host/core/backends.js";

type Store = Map<string, { value: string; flags: string }>;

/** What memcached answers a request of kvlb's, or undefined for none. */
function memcachedAnswer(store: Store, body: string): string | undefined {
  const [line = "", data = ""] = body.split("\r\n");
  const [verb, key = "", ...rest] = line.split(" ");
  const item = store.get(key);
  if (verb === "get")
    return item ? `VALUE ${key} ${item.flags} ${item.value.length}\r\n${item.value}\r\nEND\r\n` : "END\r\n";
  if (verb === "mg") return item ? `VA ${item.value.length} f${item.flags} t-1\r\n${item.value}\r\n` : "EN\r\n";
  if (verb === "ms") {
    const flags = rest.find((t) => t.startsWith("F"))?.slice(1) ?? "0";
    store.set(key, { value: data, flags });
    return "HD\r\n";
  }
  return undefined;
}

/** Plays both backends for what a burst sent them, and for what kvlb sends them in turn; returns
 * what went to clients. */
function serve(
  io: { burst(f: Buffer[], port?: number): SentFrame[] },
  stores: Store[],
  sent: readonly SentFrame[],
): SentFrame[] {
  const toClients: SentFrame[] = [];
  let pending = [...sent];
  while (pending.length > 0) {
    const replies: Buffer[] = [];
    for (const f of pending) {
      const p = parseFrame(f.bytes);
      const b = [0, 1].find((i) => backendAt(i).address === p.dst);
      if (b === undefined) {
        toClients.push(f);
        continue;
      }
      const answer = memcachedAnswer(stores[b] ?? new Map(), p.payload.subarray(8).toString("latin1"));
      if (answer !== undefined) replies.push(fromBackend(b, 40001, p.payload.readUInt16BE(0), answer));
    }
    pending = replies.length === 0 ? [] : io.burst(replies, 1);
  }
  return toClients;
}

test("a hot key's get goes to a copy on the other server, and the client gets the key's own name in valid frames", async (t) => {
  const { io } = await frameBalancer(40001, { replicaKeys: 64, l1Entries: 0, l2Entries: 0 });
  const stores: Store[] = [new Map(), new Map()];
  // the key's own server holds it; which one that is, the first forwarded get says
  const first = io.burst([fromClient(1, "get hot\r\n")]);
  const own = [0, 1].find((i) => backendAt(i).address === parseFrame(at(first, 0).bytes).dst) ?? -1;
  t.not(own, -1);
  stores[own]?.set("hot", { value: "v1", flags: "7" });
  let toClient = serve(io, stores, first);
  let copyGet: ReturnType<typeof parseFrame> | undefined;
  for (let id = 2; id < 200 && copyGet === undefined; id++) {
    const out = io.burst([fromClient(id, "get hot\r\n")]);
    for (const f of out) {
      const p = parseFrame(f.bytes);
      if (p.payload.subarray(8).toString("latin1") === "get \x7fKV0hot\r\n") copyGet = p;
    }
    toClient = serve(io, stores, out);
    // each round's client reply: the value under the key's own name
    t.is(
      toClient.map((f) => parseFrame(f.bytes).payload.subarray(8).toString("latin1")).join(""),
      "VALUE hot 7 2\r\nv1\r\nEND\r\n",
    );
  }
  t.truthy(copyGet, "a get went to the copy");
  t.is(copyGet?.dst, backendAt(1 - own).address, "on the server that is not the key's own");
  t.deepEqual([...(stores[1 - own]?.keys() ?? [])], ["\x7fKV0hot"], "the copy is stored under kvlb's own name");
  const reply = parseFrame(at(toClient, 0).bytes);
  t.is(reply.dst, "10.0.1.2");
  t.is(reply.dport, 40000);
  t.true(reply.ipChecksumOk && reply.udpChecksumOk, "the moved header's frame has valid checksums");
});

test("a set of a replicated key whose own server is down goes to the failover server and writes no copy", async (t) => {
  const { core, io } = await frameBalancer(40001, { replicaKeys: 64, l1Entries: 0, l2Entries: 0 });
  const stores: Store[] = [new Map(), new Map()];
  const first = io.burst([fromClient(1, "get hot\r\n")]);
  const own = [0, 1].find((i) => backendAt(i).address === parseFrame(at(first, 0).bytes).dst) ?? -1;
  t.not(own, -1);
  stores[own]?.set("hot", { value: "v1", flags: "7" });
  serve(io, stores, first);
  // gets until the copy on the other server is written
  for (let id = 2; id < 200 && !stores[1 - own]?.has("\x7fKV0hot"); id++) {
    serve(io, stores, io.burst([fromClient(id, "get hot\r\n")]));
  }
  t.true(stores[1 - own]?.has("\x7fKV0hot"), "the copy was made");
  setBackendState(core, own, false);
  const out = io.burst([fromClient(500, "set hot 0 0 2\r\nv2\r\n")]);
  const bodies = out.map((f) => parseFrame(f.bytes).payload.subarray(8).toString("latin1"));
  t.deepEqual(bodies, ["set hot 0 0 2\r\nv2\r\n"], "the set alone goes out, to the failover server");
  t.is(parseFrame(at(out, 0).bytes).dst, backendAt(1 - own).address);
});
