// Backend health, decided in the control plane and obeyed by every worker's core. Each backend
// is asked for its `stats` every interval, over the transport kvlb reaches it by
// (health-probes.ts). A backend is marked down after `probeFailures`
// probes in a row fail, or after `requestFailures` client requests in a row time out; it is
// probed on and marked up after two probes in a row succeed. While it is up, a change of its pid
// or an uptime that went back (a restart) or a higher cmd_flush (a flush_all sent straight to
// it) makes every worker drop what it caches for that backend's keys.
import type { Logger } from "pino";
import type { Balancer } from "../balancer/balancer.js";
import type { Backend, BackendSlot } from "../core/backends.js";
import { sameServer } from "./backend-slots.js";
import type { HealthOptions } from "../config/health-options.js";
import { createProbe, type Probe, type Probed, type ProbeTransport } from "./health-probes.js";

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

class Watched {
  state: "up" | "down" = "up";
  since = new Date().toISOString();
  reason = "started";
  restarts = 0;
  flushes = 0;
  probeMs: number | undefined;
  failures = 0;
  successes = 0;
  /** State changes sent to the workers. */
  changes = 0;
  last: Probed | undefined;
  /** When the probe in flight left. */
  sentAt: number | undefined;
  constructor(
    readonly backend: Backend,
    readonly probe: Probe,
  ) {}
}

export class BackendHealth {
  /** By entry of the backend table; none for a retired entry (off the ring since a reload). */
  private watched: (Watched | undefined)[];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly balancer: Balancer,
    backends: readonly BackendSlot[],
    public options: HealthOptions,
    private readonly log?: Logger,
    private readonly transport: ProbeTransport = "udp",
  ) {
    this.watched = backends.map((b, i) => (b.retired ? undefined : this.watch(b, i)));
  }

  private watch(b: Backend, i: number): Watched {
    return new Watched(
      b,
      createProbe(
        this.transport,
        { index: i, address: b.address, port: b.port },
        { answered: (probed) => this.received(i, probed), failed: (why) => this.failed(i, why) },
        this.balancer,
      ),
    );
  }

  private present(): Watched[] {
    return this.watched.filter((w): w is Watched => w !== undefined);
  }

  async start(): Promise<void> {
    await Promise.all(this.present().map((w) => w.probe.start()));
    this.timer = setInterval(() => this.round(), this.options.intervalMs);
    this.round();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const w of this.present()) w.probe.stop();
  }

  /**
   * A reload's table: a backend in the same entry as before keeps its state and probe; the
   * others are probed from now on, as at the start; retired entries are not probed.
   */
  async change(slots: readonly BackendSlot[], options: HealthOptions): Promise<void> {
    const before = this.watched;
    const next = slots.map((b, i) => {
      const w = before[i];
      if (b.retired) return undefined;
      return w && sameServer(w.backend, b) ? w : this.watch(b, i);
    });
    for (const w of before) if (w && !next.includes(w)) w.probe.stop();
    await Promise.all(next.filter((w) => w !== undefined && !before.includes(w)).map((w) => w?.probe.start()));
    this.watched = next;
    if (options.intervalMs !== this.options.intervalMs && this.timer) {
      clearInterval(this.timer);
      this.timer = setInterval(() => this.round(), options.intervalMs);
    }
    this.options = options;
  }

  /** Each backend's state, for /stats, /metrics and /health. */
  view(): BackendHealthView[] {
    return this.present().map((w) => ({
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
    return this.present().filter((w) => w.state === "up").length;
  }

  ready(): boolean {
    return this.upCount() >= Math.min(this.options.minUp, this.present().length);
  }

  private round(): void {
    // requests that timed out in a row, as the workers counted them at their last report
    const report = this.balancer.latest();
    report?.backends.forEach((b, i) => {
      const w = this.watched[i];
      // a count the workers made before they heard of the last change is stale
      if (w && w.state === "up" && b.changes >= w.changes && b.fails >= this.options.requestFailures) {
        this.markDown(i, `${b.fails} requests in a row timed out`);
      }
    });
    const now = performance.now();
    this.watched.forEach((w, i) => {
      if (!w) return;
      if (w.sentAt !== undefined) {
        if (now - w.sentAt < this.options.probeTimeoutMs) return; // still waiting for it
        w.probe.abandon();
        this.failed(i, `no answer to a probe within ${this.options.probeTimeoutMs} ms`);
      }
      w.sentAt = now;
      w.probe.ask();
    });
  }

  private received(i: number, probed: Probed): void {
    const w = this.watched[i];
    if (!w || w.sentAt === undefined) return;
    w.probeMs = Math.round((performance.now() - w.sentAt) * 10) / 10;
    w.sentAt = undefined;
    this.succeeded(i, probed);
  }

  private failed(i: number, why: string): void {
    const w = this.watched[i];
    if (!w) return;
    w.sentAt = undefined;
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
    w.changes++;
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
    w.changes++;
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
