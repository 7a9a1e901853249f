// An open-loop memcached UDP load: requests leave at a fixed offered rate whatever the replies
// do, as many independent clients would send them, so a slow system cannot slow the load down
// and hide its own queueing (coordinated omission). Requests leave in 1 ms batches (Node's
// timer); each one's latency runs from when it left to its reply, into an HDR histogram, and
// how late each left against its due time is kept apart (sendLag): a generator that cannot keep
// its schedule shows there, not as the system's latency.
import { createSocket, type Socket } from "node:dgram";
import { build, type Histogram } from "hdr-histogram-js";

export interface Target {
  address: string;
  port: number;
}

export interface OpenLoopOp {
  key: string;
  set: boolean;
}

export interface OpenLoopSpec {
  /** Requests per second offered. */
  rate: number;
  seconds: number;
  next: () => OpenLoopOp;
  /** Where a key's request goes: kvlb's address, or the key's own backend. */
  route: (key: string) => Target;
  valueBytes: number;
  /** A request unanswered this long counts as lost. */
  timeoutMs: number;
  sockets?: number;
  /** Called every `sampleMs` with the requests sent to each target since the last call. */
  sample?: (sentTo: ReadonlyMap<string, number>) => void;
  sampleMs?: number;
}

export interface OpenLoopResult {
  offered: number;
  completed: number;
  lost: number;
  hits: number;
  misses: number;
  stored: number;
  errors: number;
  seconds: number;
  /** Latency from sending to the reply, µs; a lost request counts as LOST_US. */
  latency: Histogram;
  /** How late requests left against their due time, µs: the generator's own lag. */
  sendLag: Histogram;
}

/** The latency recorded for a request that never got an answer. */
export const LOST_US = 10_000_000;
const IDS = 65536;

const histogram = (): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });

/** A socket's requests in flight, by request id: when each left (µs after the start), 0 when none. */
class InFlight {
  readonly dueUs = new Float64Array(IDS);
  next = 1;

  take(): number {
    const id = this.next;
    this.next = this.next === IDS - 1 ? 1 : this.next + 1;
    return id;
  }
}

function frame(id: number, body: string): Buffer {
  const b = Buffer.allocUnsafe(8 + Buffer.byteLength(body, "latin1"));
  b.writeUInt16BE(id, 0);
  b.writeUInt32BE(0, 2);
  b.writeUInt16BE(1, 4); // one datagram
  b.writeUInt16BE(0, 6);
  b.write(body, 8, "latin1");
  return b;
}

export async function openLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const sockets: Socket[] = [];
  const flights: InFlight[] = [];
  const latency = histogram();
  const sendLag = histogram();
  const counts = { completed: 0, hits: 0, misses: 0, stored: 0, errors: 0 };
  const value = "v".repeat(spec.valueBytes);
  const start = process.hrtime.bigint();
  const nowUs = (): number => Number(process.hrtime.bigint() - start) / 1000;
  for (let i = 0; i < (spec.sockets ?? 4); i++) {
    const s = createSocket({ type: "udp4", recvBufferSize: 8 << 20, sendBufferSize: 8 << 20 });
    const f = new InFlight();
    s.on("message", (d) => {
      if (d.length < 8) return;
      const id = d.readUInt16BE(0);
      const due = f.dueUs[id] ?? 0;
      if (due === 0) return;
      const seq = d.readUInt16BE(2);
      const total = d.readUInt16BE(4);
      if (seq === 0) {
        const head = d.toString("latin1", 8, 13);
        if (head.startsWith("VALUE")) counts.hits++;
        else if (head.startsWith("END")) counts.misses++;
        else if (head.startsWith("STORE")) counts.stored++;
        else counts.errors++;
      }
      if (seq + 1 < total) return; // the rest of a reply spread over several datagrams
      f.dueUs[id] = 0;
      counts.completed++;
      latency.recordValue(Math.max(1, Math.round(nowUs() - due)));
    });
    await new Promise<void>((resolve) => s.bind(0, "127.0.0.1", resolve));
    sockets.push(s);
    flights.push(f);
  }
  const total = Math.round(spec.rate * spec.seconds);
  const sentTo = new Map<string, number>();
  let sent = 0;
  let lost = 0;
  const send = (): void => {
    const due = Math.min(total, Math.floor((nowUs() / 1e6) * spec.rate));
    for (; sent < due; sent++) {
      const op = spec.next();
      const k = sent % sockets.length;
      const f = flights[k] as InFlight;
      const id = f.take();
      if ((f.dueUs[id] ?? 0) !== 0) {
        lost++; // still unanswered after a whole turn of ids
        latency.recordValue(LOST_US);
      }
      const dueUs = Math.max(1, (sent / spec.rate) * 1e6);
      f.dueUs[id] = nowUs();
      const to = spec.route(op.key);
      const where = `${to.address}:${to.port}`;
      sentTo.set(where, (sentTo.get(where) ?? 0) + 1);
      const body = op.set ? `set ${op.key} 0 0 ${value.length}\r\n${value}\r\n` : `get ${op.key}\r\n`;
      (sockets[k] as Socket).send(frame(id, body), to.port, to.address);
      sendLag.recordValue(Math.max(1, Math.round(nowUs() - dueUs)));
    }
  };
  const sampler =
    spec.sample === undefined
      ? undefined
      : setInterval(() => {
          spec.sample?.(new Map(sentTo));
          sentTo.clear();
        }, spec.sampleMs ?? 100);
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      send();
      if (sent >= total) {
        clearInterval(timer);
        resolve();
      }
    }, 1);
  });
  // what is still unanswered after the timeout is lost
  await new Promise((r) => setTimeout(r, spec.timeoutMs));
  if (sampler) clearInterval(sampler);
  for (const f of flights) {
    for (let id = 1; id < IDS; id++) {
      if ((f.dueUs[id] ?? 0) !== 0) {
        lost++;
        latency.recordValue(LOST_US);
      }
    }
  }
  for (const s of sockets) s.close();
  return { offered: total, ...counts, lost, seconds: spec.seconds, latency, sendLag };
}
