// A simple memcached UDP load generator: a few sockets, each keeping a window of requests in
// flight, keys drawn by the caller. It measures throughput, hits and latency; a faster generator
// (batched, off the main thread) comes with the XDP and DPDK data paths.
import { createSocket, type Socket } from "node:dgram";
import { LatencyHistogram } from "./latency.js";

export interface Endpoint {
  address: string;
  port: number;
}

export interface Op {
  key: string;
  set: boolean;
}

export interface LoadSpec {
  target: Endpoint;
  /** The next operation, or undefined when there are no more. */
  next: () => Op | undefined;
  /** Stop issuing after this many seconds (Infinity: when `next` runs dry). */
  seconds: number;
  sockets?: number;
  /** Requests in flight per socket. */
  window?: number;
  valueBytes?: number;
  timeoutMs?: number;
  /** Called about once a second while the load runs. */
  progress?: (p: LoadCounts & { elapsed: number }) => void;
}

export interface LoadCounts {
  ops: number;
  hits: number;
  misses: number;
  stored: number;
  errors: number;
  timeouts: number;
}

export interface LoadResult extends LoadCounts {
  seconds: number;
  opsPerSecond: number;
  latencyUs: { p50: number; p99: number; max: number };
}

const KIND_GET = 1;
const KIND_SET = 2;

class Lane {
  readonly socket: Socket = createSocket("udp4");
  readonly sentAt = new Float64Array(65536);
  readonly kind = new Uint8Array(65536);
  private nextId = 1;
  inFlight = 0;

  id(): number {
    for (;;) {
      const id = this.nextId;
      this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
      if (this.kind[id] === 0) return id;
    }
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const window = spec.window ?? 16;
  const timeoutMs = spec.timeoutMs ?? 1000;
  const value = Buffer.alloc(spec.valueBytes ?? 100, 0x76);
  const counts: LoadCounts = { ops: 0, hits: 0, misses: 0, stored: 0, errors: 0, timeouts: 0 };
  const latency = new LatencyHistogram();
  const started = performance.now();
  const deadline = started + spec.seconds * 1000;
  let exhausted = false;
  let lastDone = started;
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));

  const lanes = Array.from({ length: spec.sockets ?? 4 }, () => new Lane());
  const inFlight = (): number => lanes.reduce((a, l) => a + l.inFlight, 0);
  const finishIfIdle = (): void => {
    if ((exhausted || performance.now() >= deadline) && inFlight() === 0) settle();
  };

  const issue = (lane: Lane): void => {
    if (exhausted || performance.now() >= deadline) return finishIfIdle();
    const op = spec.next();
    if (!op) {
      exhausted = true;
      return finishIfIdle();
    }
    const id = lane.id();
    const header = Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0]);
    const body = op.set
      ? [Buffer.from(`set ${op.key} 0 0 ${value.length}\r\n`, "latin1"), value, Buffer.from("\r\n")]
      : [Buffer.from(`get ${op.key}\r\n`, "latin1")];
    lane.kind[id] = op.set ? KIND_SET : KIND_GET;
    lane.sentAt[id] = performance.now();
    lane.inFlight++;
    lane.socket.send([header, ...body], spec.target.port, spec.target.address);
  };

  const complete = (lane: Lane, id: number): void => {
    lane.kind[id] = 0;
    lane.inFlight--;
    issue(lane);
  };

  for (const lane of lanes) {
    lane.socket.on("message", (d: Buffer) => {
      if (d.length < 8) return;
      const id = d.readUInt16BE(0);
      const seq = d.readUInt16BE(2);
      const total = d.readUInt16BE(4);
      const kind = lane.kind[id] ?? 0;
      if (kind === 0) return; // late, after its timeout
      if (seq === 0) {
        const word = d.toString("latin1", 8, 14);
        if (kind === KIND_GET && word.startsWith("VALUE")) counts.hits++;
        else if (kind === KIND_GET && word.startsWith("END")) counts.misses++;
        else if (kind === KIND_SET && word.startsWith("STORED")) counts.stored++;
        else counts.errors++;
      }
      if (seq + 1 < total) return;
      counts.ops++;
      lastDone = performance.now();
      latency.record((performance.now() - (lane.sentAt[id] ?? 0)) * 1000);
      complete(lane, id);
    });
  }
  await Promise.all(
    lanes.map(
      (l) =>
        new Promise<void>((resolve, reject) => {
          l.socket.once("error", reject);
          l.socket.bind(0, "0.0.0.0", () => resolve());
        }),
    ),
  );

  const sweep = setInterval(() => {
    const now = performance.now();
    for (const lane of lanes) {
      for (let id = 1; id < 65536 && lane.inFlight > 0; id++) {
        if (lane.kind[id] !== 0 && now - (lane.sentAt[id] ?? 0) > timeoutMs) {
          counts.timeouts++;
          complete(lane, id);
        }
      }
    }
    finishIfIdle();
  }, 100);
  const report = setInterval(() => spec.progress?.({ ...counts, elapsed: (performance.now() - started) / 1000 }), 1000);

  for (const lane of lanes) for (let i = 0; i < window; i++) issue(lane);
  finishIfIdle();
  await settled;
  clearInterval(sweep);
  clearInterval(report);
  for (const lane of lanes) lane.socket.close();
  const seconds = Math.max(lastDone - started, 1) / 1000;
  return {
    ...counts,
    seconds,
    opsPerSecond: counts.ops / seconds,
    latencyUs: { p50: latency.quantile(0.5), p99: latency.quantile(0.99), max: latency.max },
  };
}
