// Backend health, decided in the control plane and obeyed by every worker's core. Each backend
// is asked for its `stats` over UDP every interval, on a socket connected to it (so a dead port
// answers at once with ICMP port unreachable). A backend is marked down after `probeFailures`
// probes in a row fail, or after `requestFailures` client requests in a row time out; it is
// probed on and marked up after two probes in a row succeed. While it is up, a change of its pid
// or an uptime that went back (a restart) or a higher cmd_flush (a flush_all sent straight to
// it) makes every worker drop what it caches for that backend's keys.
import { createSocket, type Socket } from "node:dgram";
import type { Logger } from "pino";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend } from "../core/backends.js";
import type { HealthOptions } from "../config/health-options.js";

const RECOVER_PROBES = 2;

export interface BackendHealthView {
  backend: string;
  state: "up" | "down";
  /** ISO time of the last change of state (or of the start). */
  since: string;
  /** Why it is down, or why it last changed. */
  reason: string;
  /** Times it was seen to restart or to be flushed while up. */
  restarts: number;
  flushes: number;
  /** The round trip of the last answered probe, in ms. */
  probeMs?: number;
}

interface Probed {
  pid: number;
  uptime: number;
  cmdFlush: number;
}

/** Reads memcached's `stats` reply (one message, possibly several datagrams joined). */
export function parseStats(text: string): Probed | undefined {
  const stat = (name: string): number | undefined => {
    const m = new RegExp(`^STAT ${name} (\\d+)\\r?$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const pid = stat("pid");
  const uptime = stat("uptime");
  const cmdFlush = stat("cmd_flush");
  if (pid === undefined || uptime === undefined || cmdFlush === undefined || !/END\r\n$/.test(text)) return undefined;
  return { pid, uptime, cmdFlush };
}

class Watched {
  state: "up" | "down" = "up";
  since = new Date().toISOString();
  reason = "started";
  restarts = 0;
  flushes = 0;
  probeMs: number | undefined;
  failures = 0;
  successes = 0;
  last: Probed | undefined;
  /** The probe in flight: its request id, when it left, and its datagrams so far. */
  probe: { id: number; sentAt: number; parts: Map<number, Buffer>; total: number } | undefined;
  readonly socket: Socket;

  constructor(readonly backend: Backend) {
    this.socket = createSocket("udp4");
  }
}

export class BackendHealth {
  private readonly watched: Watched[];
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;

  constructor(
    private readonly balancer: Balancer,
    backends: readonly Backend[],
    readonly options: HealthOptions,
    private readonly log?: Logger,
    /** False where no kernel route reaches the backends (DPDK ports no kernel serves): then only
     * requests that time out in a row mark a backend down, and it is back after the down time. */
    private readonly probe = true,
  ) {
    this.watched = backends.map((b) => new Watched(b));
  }

  async start(): Promise<void> {
    await Promise.all(
      this.watched.map(
        (w, i) =>
          new Promise<void>((resolve) => {
            w.socket.on("message", (d) => this.received(i, d));
            // ICMP port unreachable, on a connected socket: the backend's port is closed now
            w.socket.on("error", () => this.failed(i, "its port refused the probe"));
            w.socket.connect(w.backend.port, w.backend.address, () => resolve());
          }),
      ),
    );
    this.timer = setInterval(() => this.round(), this.options.intervalMs);
    this.round();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.watched) w.socket.close();
  }

  /** Each backend's state, for /stats, /metrics and /health. */
  view(): BackendHealthView[] {
    return this.watched.map((w) => ({
      backend: `${w.backend.host}:${w.backend.port}`,
      state: w.state,
      since: w.since,
      reason: w.reason,
      restarts: w.restarts,
      flushes: w.flushes,
      ...(w.probeMs !== undefined ? { probeMs: w.probeMs } : {}),
    }));
  }

  upCount(): number {
    return this.watched.filter((w) => w.state === "up").length;
  }

  ready(): boolean {
    return this.upCount() >= Math.min(this.options.minUp, this.watched.length);
  }

  private round(): void {
    // requests that timed out in a row, as the workers counted them at their last report
    const report = this.balancer.latest();
    report?.backends.forEach((b, i) => {
      const w = this.watched[i];
      if (w && w.state === "up" && b.fails >= this.options.requestFailures) {
        this.markDown(i, `${b.fails} requests in a row timed out`);
      }
    });
    if (!this.probe) {
      // nothing to probe with: a down backend is given its requests again after a while
      const now = Date.now();
      this.watched.forEach((w, i) => {
        if (w.state === "down" && now - Date.parse(w.since) >= this.options.probeTimeoutMs * this.options.probeFailures)
          this.markUp(i);
      });
      return;
    }
    const now = performance.now();
    this.watched.forEach((w, i) => {
      if (w.probe) {
        if (now - w.probe.sentAt < this.options.probeTimeoutMs) return; // still waiting for it
        this.failed(i, `no answer to a probe within ${this.options.probeTimeoutMs} ms`);
      }
      const id = this.nextId;
      this.nextId = (this.nextId % 0xffff) + 1;
      w.probe = { id, sentAt: now, parts: new Map(), total: 0 };
      const header = Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0]);
      w.socket.send([header, Buffer.from("stats\r\n")], (e) => {
        if (e) this.failed(i, `the probe could not be sent (${(e as NodeJS.ErrnoException).code ?? e.message})`);
      });
    });
  }

  private received(i: number, d: Buffer): void {
    const w = this.watched[i];
    const p = w?.probe;
    if (!w || !p || d.length < 8 || d.readUInt16BE(0) !== p.id) return;
    p.total = d.readUInt16BE(4);
    p.parts.set(d.readUInt16BE(2), d.subarray(8));
    if (p.parts.size < p.total) return;
    const text = Buffer.concat([...p.parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1])).toString("latin1");
    w.probeMs = Math.round((performance.now() - p.sentAt) * 10) / 10;
    w.probe = undefined;
    const now = parseStats(text);
    if (!now) return this.failed(i, "its stats answer could not be read");
    this.succeeded(i, now);
  }

  private failed(i: number, why: string): void {
    const w = this.watched[i];
    if (!w) return;
    w.probe = undefined;
    w.successes = 0;
    w.failures++;
    if (w.state === "up" && w.failures >= this.options.probeFailures) this.markDown(i, why);
  }

  private succeeded(i: number, now: Probed): void {
    const w = this.watched[i];
    if (!w) return;
    w.failures = 0;
    w.successes++;
    const before = w.last;
    w.last = now;
    if (w.state === "down") {
      if (w.successes >= RECOVER_PROBES) this.markUp(i);
      return;
    }
    if (before && (now.pid !== before.pid || now.uptime < before.uptime)) {
      w.restarts++;
      this.purge(i, `restarted (pid ${before.pid} -> ${now.pid})`);
    } else if (before && now.cmdFlush > before.cmdFlush) {
      w.flushes++;
      this.purge(i, "flushed by a flush_all sent straight to it");
    }
  }

  private name(i: number): string {
    const b = this.watched[i]?.backend;
    return b ? `${b.host}:${b.port}` : `backend ${i}`;
  }

  private markDown(i: number, reason: string): void {
    const w = this.watched[i];
    if (!w || w.state === "down") return;
    w.state = "down";
    w.since = new Date().toISOString();
    w.reason = reason;
    w.successes = 0;
    this.balancer.send({ type: "backend-state", backend: i, up: false });
    this.log?.warn(
      { backend: this.name(i), reason, onDown: this.options.onDown },
      this.options.onDown === "failover"
        ? "backend down: its keys go to the next server up on the ring"
        : "backend down: its keys get SERVER_ERROR",
    );
  }

  private markUp(i: number): void {
    const w = this.watched[i];
    if (!w) return;
    w.state = "up";
    w.since = new Date().toISOString();
    w.reason = "answers again";
    w.failures = 0;
    this.balancer.send({ type: "backend-state", backend: i, up: true });
    this.log?.info(
      { backend: this.name(i) },
      "backend up again: its keys go back to it, kvlb's copies of them dropped",
    );
  }

  private purge(i: number, reason: string): void {
    const w = this.watched[i];
    if (!w) return;
    w.reason = reason;
    this.balancer.send({ type: "purge", backend: i });
    this.log?.warn({ backend: this.name(i), reason }, "backend changed under kvlb: its keys' cached copies dropped");
  }
}
