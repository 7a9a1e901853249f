// Write events between workers (assembly/cache/peers.ts). Each worker has one ring in a
// SharedArrayBuffer that it alone writes and every other worker reads. Events are copied as
// the core wrote them, a burst's worth at a time, so a burst costs at most one crossing into
// the core per ring with news. A writer whose ring is full waits for the slowest reader: an
// event is never dropped, because a lost begin could let a worker serve a value that a write
// has since replaced.
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "../core/core.js";

/** The rings of a balancer's workers: made once by the control plane, handed to every worker. */
export interface PeerRings {
  buffer: SharedArrayBuffer;
  workers: number;
  /** Events per ring, a power of two. */
  capacity: number;
}

// A ring: a control block of Int32 cells (head, then each reader's tail, then each reader's
// "gone" flag), padded to a cache line, then capacity events.
const controlBytes = (workers: number): number => Math.ceil((4 * (1 + 2 * workers)) / 64) * 64;
const ringBytes = (workers: number, capacity: number): number =>
  controlBytes(workers) + capacity * abi.PEER_EVENT_BYTES;

export function createPeerRings(workers: number, capacity = 1 << 16): PeerRings {
  if ((capacity & (capacity - 1)) !== 0) throw new Error(`peer ring capacity ${capacity}: not a power of two`);
  return { buffer: new SharedArrayBuffer(workers * ringBytes(workers, capacity)), workers, capacity };
}

/** How long a writer sleeps between looks at a full ring. */
const FULL_WAIT_MS = 0.05;

// An event is two u64 words: the key hash, then the kind.
const WORDS = abi.PEER_EVENT_BYTES / 8;

export class PeerLink {
  private readonly cells: Int32Array;
  private readonly words: BigUint64Array;
  private readonly coreWords: BigUint64Array;
  private readonly ringSize: number;
  private readonly control: number;
  private readonly outCount: number;
  private readonly outList: number;
  private readonly inList: number;
  private readonly room: number;
  /** Times this worker found its ring full and waited. */
  waits = 0;

  constructor(
    private readonly rings: PeerRings,
    private readonly self: number,
    private readonly core: Core,
  ) {
    this.cells = new Int32Array(rings.buffer);
    this.words = new BigUint64Array(rings.buffer);
    // the core's memory is never grown on the data path, so one view serves for good
    this.coreWords = new BigUint64Array(core.memory.buffer);
    this.ringSize = ringBytes(rings.workers, rings.capacity);
    this.control = controlBytes(rings.workers);
    this.room = core.config.peerEvents;
    if (this.room === 0) throw new Error("a core with peers needs peerEvents > 0");
    this.outCount = (abi.HEADER_BASE + abi.H_PEER_OUT) >>> 2;
    this.outList = core.region(abi.R_PEER).offset;
    this.inList = this.outList + this.room * abi.PEER_EVENT_BYTES;
  }

  private headCell(ring: number): number {
    return (ring * this.ringSize) >>> 2;
  }
  private tailCell(ring: number, reader: number): number {
    return this.headCell(ring) + 1 + reader;
  }
  private goneCell(ring: number, reader: number): number {
    return this.headCell(ring) + 1 + this.rings.workers + reader;
  }
  /** Where an event starts, in u64 words of the rings' buffer. */
  private eventAt(ring: number, index: number): number {
    return (ring * this.ringSize + this.control + (index & (this.rings.capacity - 1)) * abi.PEER_EVENT_BYTES) / 8;
  }

  /** Copies k events word by word: no view to allocate, and k is a burst's writes at most. */
  private static copy(to: BigUint64Array, at: number, from: BigUint64Array, start: number, k: number): void {
    for (let i = 0; i < k * WORDS; i++) to[at + i] = from[start + i] ?? 0n;
  }

  /** Free events in this worker's ring: capacity less what the slowest live reader has not read. */
  private free(head: number): number {
    let used = 0;
    for (let r = 0; r < this.rings.workers; r++) {
      if (r === this.self || Atomics.load(this.cells, this.goneCell(this.self, r)) !== 0) continue;
      used = Math.max(used, (head - Atomics.load(this.cells, this.tailCell(this.self, r))) >>> 0);
    }
    return this.rings.capacity - used;
  }

  /** Copies the events the core queued since the last call into this worker's ring. */
  publish(): void {
    const n = this.core.u32[this.outCount] ?? 0;
    if (n === 0) return;
    const at = this.headCell(this.self);
    let head = Atomics.load(this.cells, at);
    for (let done = 0; done < n;) {
      let space = this.free(head);
      while (space === 0) {
        this.waits++;
        Atomics.wait(this.cells, at, head, FULL_WAIT_MS);
        space = this.free(head);
      }
      const first = head & (this.rings.capacity - 1);
      const k = Math.min(n - done, space, this.rings.capacity - first);
      const from = (this.outList + done * abi.PEER_EVENT_BYTES) / 8;
      PeerLink.copy(this.words, this.eventAt(this.self, head), this.coreWords, from, k);
      head = (head + k) | 0;
      done += k;
      Atomics.store(this.cells, at, head); // publishes the events copied above
    }
    this.core.u32[this.outCount] = 0;
  }

  /** Applies every event the other workers published since the last call. */
  take(): void {
    for (let ring = 0; ring < this.rings.workers; ring++) {
      if (ring === this.self) continue;
      const head = Atomics.load(this.cells, this.headCell(ring));
      const tailAt = this.tailCell(ring, this.self);
      let tail = Atomics.load(this.cells, tailAt);
      while (tail !== head) {
        const first = tail & (this.rings.capacity - 1);
        const k = Math.min((head - tail) >>> 0, this.room, this.rings.capacity - first);
        PeerLink.copy(this.coreWords, this.inList / 8, this.words, this.eventAt(ring, tail), k);
        this.core.exports.peer_writes(k);
        tail = (tail + k) | 0;
        Atomics.store(this.cells, tailAt, tail);
      }
    }
  }

  /** Events in another worker's ring that this worker has yet to take. */
  backlog(ring: number): number {
    const head = Atomics.load(this.cells, this.headCell(ring));
    return (head - Atomics.load(this.cells, this.tailCell(ring, this.self))) >>> 0;
  }

  /** This worker reads no more: writers stop waiting for it. */
  close(): void {
    for (let ring = 0; ring < this.rings.workers; ring++) Atomics.store(this.cells, this.goneCell(ring, this.self), 1);
  }
}
