// A get of a cached key whose write is in flight waits for the write instead of going to the
// key's server (proxy/parked-reads.ts). The backends are played from memcached's protocol.txt:
// a set answers STORED or an error, a get answers its VALUE and END.
import test from "ava";
import {
  frameBalancer,
  fromClient,
  fromBackend,
  at,
  backendReplies,
  backendAt,
  withoutFillAsks,
} from "../support/frame-balancer.js";
import { parseFrame } from "../support/frames.js";
import type { SentFrame } from "../support/frame-driver.js";
import type { FrameDriver } from "../support/frame-driver.js";
import { routeKey } from "../../host/core/backends.js";

const CLIENT_PORT = 40000;
const body = (f: SentFrame): string => parseFrame(f.bytes).payload.subarray(8).toString("latin1");
const requestId = (f: SentFrame): number => parseFrame(f.bytes).payload.readUInt16BE(0);
const toClient = (out: readonly SentFrame[]): SentFrame[] => out.filter((f) => parseFrame(f.bytes).dport !== 11211);
const toBackend = (out: readonly SentFrame[]): SentFrame[] => out.filter((f) => parseFrame(f.bytes).dport === 11211);

/** Gets `key` until the cache answers it, the backend holding `value`. */
function warm(io: FrameDriver, key: string, value: string): void {
  for (let i = 0; i < 50; i++) {
    const out = io.burst([fromClient(1, `get ${key}\r\n`)]);
    if (parseFrame(at(out, 0).bytes).dport !== 11211) return;
    io.burst(backendReplies(out, { [key]: value }), 1);
  }
  throw new Error(`${key} never became cached`);
}

/** Sends a set of `key` and returns the request id it went to the backend with. */
function setInFlight(io: FrameDriver, key: string, value: string): number {
  const out = toBackend(io.burst([fromClient(2, `set ${key} 0 0 ${value.length}\r\n${value}\r\n`)]));
  if (out.length !== 1 || !body(at(out, 0)).startsWith(`set ${key} `)) throw new Error("the set was not forwarded");
  return requestId(at(out, 0));
}

test("a get of a cached key during its set sends nothing, and gets the new value from the cache once the set is stored", async (t) => {
  const { core, io } = await frameBalancer();
  const owner = routeKey(core, "k");
  warm(io, "k", "old");
  const setId = setInFlight(io, "k", "new");
  t.deepEqual(
    io.burst([fromClient(3, "get k\r\n")]),
    [],
    "the get waits: nothing to the backend, nothing to the client",
  );
  t.is(core.stats()["reads_parked"], 1n);

  const out = toClient(io.burst([fromBackend(owner, 40001, setId, "STORED\r\n")], 1));
  const byId = new Map(out.map((f) => [requestId(f), body(f)]));
  t.is(byId.get(2), "STORED\r\n");
  t.is(byId.get(3), "VALUE k 0 3\r\nnew\r\nEND\r\n", "the waiting get sees the value its set wrote");
  t.is(core.stats()["parked_from_cache"], 1n);
  t.is(toBackend(io.burst([])).length, 0, "and nothing more is sent");
});

/** Parks gets of `key` from clients 3, 4 and 5 behind a set the server then refuses; returns
 * what kvlb sent on that answer. */
function parkThenRefuse(io: FrameDriver, owner: number, key: string): SentFrame[] {
  io.tick(BigInt(Date.now()) * 1_000_000n); // the core's clock times the ask in flight
  warm(io, key, "old");
  const setId = setInFlight(io, key, "new");
  for (const id of [3, 4, 5]) io.burst([fromClient(id, `get ${key}\r\n`, CLIENT_PORT + id)]);
  return io.burst([fromBackend(owner, 40001, setId, "SERVER_ERROR out of memory storing object\r\n")], 1);
}

test("gets that waited for a set the server refused share one ask of kvlb's for the value, then the cache answers them all", async (t) => {
  const { core, io } = await frameBalancer();
  const owner = routeKey(core, "k");
  const out = toBackend(parkThenRefuse(io, owner, "k"));
  t.deepEqual(
    out.map((f) => body(f)),
    ["mg k v f t k\r\n"],
    "one ask, and no get of the clients' sent on",
  );
  t.is(parseFrame(at(out, 0).bytes).dst, backendAt(owner).address, "to the key's own server");
  const answered = toClient(io.burst(backendReplies(out, { k: "old" }), 1));
  t.deepEqual(
    answered.map((f) => [requestId(f), body(f)]).sort(),
    [3, 4, 5].map((id) => [id, "VALUE k 0 3\r\nold\r\nEND\r\n"]),
  );
});

test("when kvlb's ask finds the key missing, each waiting get goes to the key's server, and its answer to the client", async (t) => {
  const { core, io } = await frameBalancer();
  const owner = routeKey(core, "k");
  const ask = toBackend(parkThenRefuse(io, owner, "k"));
  const out = toBackend(io.burst(backendReplies(ask, {}), 1));
  t.deepEqual(
    out.map((f) => body(f)),
    ["get k\r\n", "get k\r\n", "get k\r\n"],
  );
  t.true(out.every((f) => parseFrame(f.bytes).dst === backendAt(owner).address));
  const answered = toClient(io.burst(backendReplies(out, {}), 1));
  t.deepEqual(
    answered.map((f) => [requestId(f), body(f)]).sort(),
    [3, 4, 5].map((id) => [id, "END\r\n"]),
    "the miss the server reported",
  );
});

test("a get that waited a request timeout for an unanswered set goes to the key's server; the set gets a server error", async (t) => {
  const { core, io } = await frameBalancer();
  warm(io, "k", "old");
  setInFlight(io, "k", "new");
  io.burst([fromClient(3, "get k\r\n")]);
  const timeout = BigInt(core.config.natTimeoutMs) * 1_000_000n;
  const out = io.tick(BigInt(Date.now()) * 1_000_000n + 10n * timeout);
  const byClient = new Map(toClient(out).map((f) => [requestId(f), body(f)]));
  t.regex(byClient.get(2) ?? "", /^SERVER_ERROR /);
  t.false(byClient.has(3), "the get is not answered by kvlb");
  t.deepEqual(
    withoutFillAsks(toBackend(out)).map((f) => body(f)),
    ["get k\r\n"],
    "it went on to the server",
  );
});

test("a get of a key no cache holds is not held back by a write in flight", async (t) => {
  const { core, io } = await frameBalancer();
  setInFlight(io, "cold", "new");
  const out = io.burst([fromClient(3, "get cold\r\n")]);
  t.deepEqual(
    toBackend(out).map((f) => body(f)),
    ["get cold\r\n"],
  );
  t.is(core.stats()["reads_parked"] ?? 0n, 0n);
});

test("when 256 gets wait, the next one goes to the server at once", async (t) => {
  // room for the 257 answers that leave in one burst
  const { core, io } = await frameBalancer(40001, { frames: 1024 });
  const owner = routeKey(core, "k");
  warm(io, "k", "old");
  const setId = setInFlight(io, "k", "new");
  for (let i = 0; i < 256; i += 32) {
    const batch = Array.from({ length: 32 }, (_, j) => fromClient(100 + i + j, "get k\r\n", CLIENT_PORT + 1 + i + j));
    t.deepEqual(io.burst(batch), []);
  }
  const over = io.burst([fromClient(999, "get k\r\n", CLIENT_PORT)]);
  t.deepEqual(
    toBackend(over).map((f) => body(f)),
    ["get k\r\n"],
  );
  const out = toClient(io.burst([fromBackend(owner, 40001, setId, "STORED\r\n")], 1));
  t.is(out.filter((f) => body(f) === "VALUE k 0 3\r\nnew\r\nEND\r\n").length, 256, "every waiting get answered");
});
