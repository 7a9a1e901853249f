// A worker thread that reads write events the way a slow worker would: it caches some keys,
// then takes nothing until the writer's ring (ring 0) is full, then takes until it has applied
// the events it was told to expect, and reports what it saw.
import { parentPort, workerData } from "node:worker_threads";
import type { PeerRings } from "../../host/worker/peer-link.js";
import { PORT_B, peerWorker, warm, get } from "./peer-worker.js";

export interface ReaderData {
  rings: PeerRings;
  keys: string[];
  events: number;
}
export type ReaderMessage =
  { kind: "warm" } | { kind: "done"; sawFull: boolean; eventsIn: number; stillCached: string[] };

const { rings, keys, events } = workerData as ReaderData;
const post = (m: ReaderMessage): void => parentPort?.postMessage(m);
const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const b = await peerWorker(rings, 1, PORT_B, { peerEvents: 64 });
for (const k of keys) warm(b, k, "old");
post({ kind: "warm" });

const deadline = Date.now() + 10_000;
while (b.link.backlog(0) < rings.capacity && Date.now() < deadline) await pause(1);
const sawFull = b.link.backlog(0) === rings.capacity;
const eventsIn = (): number => Number(b.core.stats()["peer_events_in"] ?? 0n);
while (eventsIn() < events && Date.now() < deadline) {
  b.link.take();
  await pause(1);
}
post({ kind: "done", sawFull, eventsIn: eventsIn(), stillCached: keys.filter((k) => get(b, k).cached !== undefined) });
