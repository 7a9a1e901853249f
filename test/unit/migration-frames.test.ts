// Live migration in the core, frame by frame (proxy/migrate.ts), after a reload took backend 1 off
// the ring: its keys moved to backend 0. A moved key's copy to its new owner is an add, which a
// client's delete that reached the new owner first would undo: so while a copy is in flight, a
// delete of the key is answered "try again". The worker that copies tells the others through the
// write events PeerLink carries, so a delete taken by another worker waits too. Copies of keys
// that share a barrier bucket may be in flight together.
import test from "ava";
import { parseFrame } from "../support/frames.js";
import { fromClient, fromBackend, backends, backendAt } from "../support/frame-balancer.js";
import type { SentFrame } from "../support/frame-driver.js";
import { routeKey, changeBackends } from "../../host/core/backends.js";
import { beginWindow } from "../../host/core/migration.js";
import { createPeerRings } from "../../host/worker/peer-link.js";
import { PORT_A, PORT_B, peerWorker, burst, type PeerWorker } from "../support/peer-worker.js";
import type { CoreConfig } from "../../host/core/config.js";

const BUSY = "SERVER_ERROR kvlb is moving this key to its new server; try again\r\n";

/** Two workers whose rings lost backend 1 in a reload with a migration window: its keys moved
 * to backend 0. `keys`: the first keys of backend 1. */
async function afterRemoval(
  config: Partial<CoreConfig> = {},
  keys = 1,
): Promise<{ a: PeerWorker; b: PeerWorker; key: string; moved: string[] }> {
  const rings = createPeerRings(2);
  const a = await peerWorker(rings, 0, PORT_A, { peerEvents: 64, ...config });
  const b = await peerWorker(rings, 1, PORT_B, { peerEvents: 64, ...config });
  const moved = Array.from({ length: 100 }, (_, i) => `pm-${i}`)
    .filter((k) => routeKey(a.core, k) === 1)
    .slice(0, keys);
  const [key] = moved;
  if (key === undefined || moved.length < keys) throw new Error("too few keys on backend 1");
  for (const w of [a, b]) {
    beginWindow(w.core, 30_000);
    changeBackends(w.core, [backendAt(0), { ...backendAt(1), retired: true }], 3n);
    for (const k of moved) if (routeKey(w.core, k) !== 0) throw new Error(`${k} did not move`);
  }
  return { a, b, key, moved };
}

const payload = (f: SentFrame): string => parseFrame(f.bytes).payload.subarray(8).toString("latin1");
const idOf = (f: SentFrame): number => parseFrame(f.bytes).payload.readUInt16BE(0);
const toBackend = (frames: readonly SentFrame[], i: number, verb: string): SentFrame => {
  const f = frames.find((x) => parseFrame(x.bytes).dst === backends[i]?.address && payload(x).startsWith(`${verb} `));
  if (!f) throw new Error(`no ${verb} to backend ${i} among ${frames.length} frames`);
  return f;
};

/** Worker a: a client's get of `key` misses at its new owner, falls back to the old one, and
 * kvlb's copy (ms ... ME) is sent to the new owner. Returns the copy's frame. */
function copyInFlight(a: PeerWorker, key: string): SentFrame {
  const asked = burst(a, [fromClient(1, `get ${key}\r\n`)]);
  const atNew = toBackend(asked, 0, "get");
  const fellBack = burst(a, [fromBackend(0, PORT_A, idOf(atNew), "END\r\n")], 1);
  const read = toBackend(fellBack, 1, "mg");
  toBackend(fellBack, 1, "get"); // the client's get, sent on to the old owner
  const copied = burst(a, [fromBackend(1, PORT_A, idOf(read), `VA 3 f0 t-1 k${key}\r\nold\r\n`)], 1);
  const copy = toBackend(copied, 0, "ms");
  if (!payload(copy).endsWith(" ME\r\nold\r\n")) throw new Error(`not an add: ${payload(copy)}`);
  return copy;
}

test("a copy in flight on one worker holds back a delete of the key taken by another, until the copy is answered", async (t) => {
  const { a, b, key } = await afterRemoval();
  const copy = copyInFlight(a, key);
  const during = burst(b, [fromClient(7, `delete ${key}\r\n`, 40020)]);
  t.deepEqual(during.map(payload), [BUSY], "B answers the delete itself and sends nothing to a backend");
  burst(a, [fromBackend(0, PORT_A, idOf(copy), "HD\r\n")], 1); // the copy is stored: A publishes its end
  const after = burst(b, [fromClient(8, `delete ${key}\r\n`, 40020)]);
  t.truthy(toBackend(after, 0, "delete"), "once the copy is answered, B sends the delete to the new owner");
  t.is(a.core.stats()["migrate_copies"], 1n);
});

test("a worker that has not taken the copy's event sends the delete while the copy is in flight (the hazard)", async (t) => {
  const { a, b, key } = await afterRemoval();
  copyInFlight(a, key);
  const during = b.io.burst([fromClient(7, `delete ${key}\r\n`, 40020)]); // no take of A's events
  t.truthy(
    toBackend(during, 0, "delete"),
    "the delete may reach the new owner before the add, which then restores the value",
  );
});

test("two moved keys that share a barrier bucket are both copied when their copies overlap", async (t) => {
  // one bucket: every key shares it
  const { a, moved } = await afterRemoval({ barrierBuckets: 1 }, 2);
  const asked = burst(
    a,
    moved.map((k, i) => fromClient(10 + i, `get ${k}\r\n`, 40100 + i)),
  );
  const misses = asked.map((f) => fromBackend(0, PORT_A, idOf(f), "END\r\n"));
  const fellBack = burst(a, misses, 1);
  const reads = fellBack.filter((f) => payload(f).startsWith("mg "));
  t.is(reads.length, 2, "each key's value is read at its old owner");
  const values = reads.map((f) => {
    const key = payload(f).split(" ")[1] ?? "";
    return fromBackend(1, PORT_A, idOf(f), `VA 3 f0 t-1 k${key}\r\nold\r\n`);
  });
  const copies = burst(a, values, 1).filter((f) => payload(f).startsWith("ms "));
  t.deepEqual(
    copies.map((f) => payload(f).split(" ")[1]).sort(),
    [...moved].sort(),
    "each key's copy goes to its new owner, though the other's is in flight in the same bucket",
  );
});
