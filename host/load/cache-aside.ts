// A cache-aside load over TCP, as an application in front of a database runs it: get a Zipf key,
// and on a miss set it (the value the database would give). Counted per interval, so that a miss
// storm (after a restart, or a server that joins empty) shows as the misses over time. A
// connection that breaks (kvlb restarting) is opened again until the run ends; its requests in
// flight count as failed.
import { connect, type Socket } from "node:net";
import { zipfSampler } from "./zipf.js";

export interface CacheAsideSpec {
  port: number;
  address?: string;
  keys: readonly string[];
  zipf: number;
  seed: number;
  connections: number;
  /** Requests in flight per connection. */
  depth: number;
  valueBytes: number;
  /** Length of one sample, in ms. */
  intervalMs: number;
}

export interface CacheAsideSample {
  /** Seconds since the load began, at the sample's end. */
  t: number;
  gets: number;
  misses: number;
  /** Requests lost with a broken connection, or answered with an error. */
  failed: number;
}

interface Pending {
  key: string;
  set: boolean;
}

export class CacheAsideLoad {
  readonly samples: CacheAsideSample[] = [];
  private current = { gets: 0, misses: 0, failed: 0 };
  private running = true;
  private readonly started = Date.now();
  private readonly timer: NodeJS.Timeout;
  private readonly rank: () => number;
  private readonly value: string;
  private readonly done: Promise<void>[] = [];

  constructor(private readonly spec: CacheAsideSpec) {
    this.rank = zipfSampler(spec.keys.length, spec.zipf, spec.seed);
    this.value = "v".repeat(spec.valueBytes);
    this.timer = setInterval(() => this.cut(), spec.intervalMs);
    for (let i = 0; i < spec.connections; i++) this.done.push(this.connection());
  }

  private cut(): void {
    this.samples.push({ t: (Date.now() - this.started) / 1000, ...this.current });
    this.current = { gets: 0, misses: 0, failed: 0 };
  }

  /** Stops sending; resolves once every connection is closed. */
  async stop(): Promise<CacheAsideSample[]> {
    this.running = false;
    await Promise.all(this.done);
    clearInterval(this.timer);
    this.cut();
    return this.samples;
  }

  /** One connection's life: opened, pipelined, opened again after a break, until stop(). */
  private async connection(): Promise<void> {
    while (this.running) {
      await this.session();
      if (this.running) await new Promise((r) => setTimeout(r, 20));
    }
  }

  private session(): Promise<void> {
    return new Promise((resolve) => {
      const s: Socket = connect({ port: this.spec.port, host: this.spec.address ?? "127.0.0.1" });
      s.setNoDelay(true);
      const pending: Pending[] = [];
      let buffer = "";
      let ended = false;
      const finish = (): void => {
        if (ended) return;
        ended = true;
        this.current.failed += pending.length;
        s.destroy();
        resolve();
      };
      const send = (p: Pending): void => {
        pending.push(p);
        s.write(p.set ? `set ${p.key} 0 0 ${this.value.length}\r\n${this.value}\r\n` : `get ${p.key}\r\n`);
      };
      const nextGet = (): void => {
        if (this.running) send({ key: this.spec.keys[this.rank()] ?? "", set: false });
        else if (pending.length === 0) s.end();
      };
      s.on("connect", () => {
        for (let i = 0; i < this.spec.depth; i++) nextGet();
      });
      s.setEncoding("latin1");
      s.on("data", (d: string) => {
        buffer += d;
        for (;;) {
          const p = pending[0];
          if (!p) break;
          const end = replyEnd(buffer, p.set);
          if (end < 0) break;
          const reply = buffer.slice(0, end);
          buffer = buffer.slice(end);
          pending.shift();
          if (p.set) {
            if (reply !== "STORED\r\n") this.current.failed++;
            nextGet();
          } else if (reply === "END\r\n") {
            this.current.gets++;
            this.current.misses++;
            send({ key: p.key, set: true }); // the application fills the cache
          } else if (reply.startsWith("VALUE ")) {
            this.current.gets++;
            nextGet();
          } else {
            this.current.failed++;
            nextGet();
          }
        }
      });
      s.on("error", finish);
      s.on("close", finish);
    });
  }
}

/** Where the first reply in `b` ends, or -1 when it has not all come. */
function replyEnd(b: string, set: boolean): number {
  if (set || !b.startsWith("VALUE ")) {
    const nl = b.indexOf("\r\n");
    return nl < 0 ? -1 : nl + 2;
  }
  const nl = b.indexOf("\r\n");
  if (nl < 0) return -1;
  const bytes = Number(b.slice(0, nl).split(" ")[3]);
  const end = nl + 2 + bytes + 2 + "END\r\n".length;
  return b.length >= end ? end : -1;
}
