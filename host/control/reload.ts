// kvlb reload, SIGHUP and POST /config: the config file read again, checked, and what changed
// applied to the running workers between bursts. A file that does not load, or that changes
// what only a restart can change, is refused with one line and nothing changes. What a reload
// applies: the backends and their weights (backend-slots.ts), the request timeout, what a down
// backend's keys get, the health checks' settings, and who may be answered.
import type { Logger } from "pino";
import type { Balancer } from "../balancer/balancer.js";
import type { RunConfig } from "../config/run-config.js";
import { resolveBackends } from "../config/endpoints.js";
import { clientGuard } from "../config/clients.js";
import { coreConfigFields, withDefaults, liveConfig, liveConfigKeys, type ConfigField } from "../core/config.js";
import { KvlbError } from "../errors.js";
import type { BackendHealth } from "./health.js";
import { planSlots, endpointText, activeSlots } from "./backend-slots.js";
import { ringMoves } from "./ring-moves.js";
import { MigrationMover } from "./migration-mover.js";
import type { ReloadStatus } from "./reload-status.js";
import type { BackendSlot } from "../core/backends.js";

/** What a reload did, in lines a person reads: the log, `kvlb reload` and POST /config say them. */
export interface ReloadResult {
  ok: boolean;
  lines: string[];
}

// A worker reports twice a second.
const REPORT_WAIT_MS = 2000;

/** The settings that differ between two configs and that only a restart applies. */
export function restartOnly(now: RunConfig, next: RunConfig): string[] {
  const differs = (a: unknown, b: unknown): boolean => JSON.stringify(a) !== JSON.stringify(b);
  const fields: [string, unknown, unknown][] = [
    ["listen", now.listen, next.listen],
    ["admin", now.admin, next.admin],
    ["admin.token", now.adminToken, next.adminToken],
    ["tcp", now.tcp, next.tcp],
    ["tcp.backends", now.backendTcp, next.backendTcp],
    ["detector.module", now.module, next.module],
    ["cache.enabled", now.cache, next.cache],
  ];
  const live: readonly string[] = liveConfigKeys;
  const a = withDefaults(now.core);
  const b = withDefaults(next.core);
  for (const f of coreConfigFields as readonly ConfigField[]) {
    if (!live.includes(f.key)) fields.push([f.file ?? f.key, a[f.key], b[f.key]]);
  }
  return fields.filter(([, x, y]) => differs(x, y)).map(([name]) => name);
}

/** What a data path gives a reload. */
export interface ReloadHooks {
  /** Reads the config file again, with the command line's flags over it. */
  reread: () => RunConfig;
  /** Runs before the workers take the new table (kvlb attach: the XDP program steers the new
   * backends' replies). */
  before?: (slots: readonly BackendSlot[]) => void;
}

export class Reloader {
  private queue: Promise<ReloadResult> = Promise.resolve({ ok: true, lines: [] });
  private readonly counts: ReloadStatus = { applied: 0, refused: 0 };
  /** The ranges the last reload with a migration window moved. */
  private moved: { ranges: number; share: number } | undefined;

  constructor(
    private readonly balancer: Balancer,
    private readonly health: BackendHealth,
    private current: RunConfig,
    private readonly hooks: ReloadHooks,
    private readonly log: Logger,
    private readonly mover: MigrationMover = new MigrationMover(balancer, log),
  ) {}

  /** One reload at a time: a second one asked meanwhile runs after it. */
  reload(): Promise<ReloadResult> {
    this.queue = this.queue.then(async () => {
      const r = await this.once();
      if (r.ok) this.counts.applied++;
      else this.counts.refused++;
      this.counts.last = { at: new Date().toISOString(), ok: r.ok, line: r.lines[0] ?? "" };
      return r;
    });
    return this.queue;
  }

  status(): ReloadStatus {
    const m = this.moved;
    return { ...this.counts, ...(m ? { migration: { ...m, mover: this.mover.progress() } } : {}) };
  }

  private refuse(line: string): ReloadResult {
    this.log.warn({ reason: line }, "reload refused: nothing changed");
    return { ok: false, lines: [line] };
  }

  private async once(): Promise<ReloadResult> {
    let next: RunConfig;
    try {
      next = this.hooks.reread();
    } catch (e) {
      return this.refuse(e instanceof KvlbError ? e.message : `the config: ${(e as Error).message}`);
    }
    const fixed = restartOnly(this.current, next);
    if (fixed.length > 0) return this.refuse(`${fixed.join(", ")}: a reload cannot change it; restart kvlb`);
    let backends;
    try {
      backends = await resolveBackends(next.backends);
    } catch (e) {
      return this.refuse((e as Error).message);
    }
    // a report made after the last reload took effect: an entry retired then has no new
    // requests since, so none in flight now means none to come
    const report = await Promise.race([
      this.balancer.fresh(),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), REPORT_WAIT_MS).unref()),
    ]);
    if (!report) return this.refuse(`the workers did not report within ${REPORT_WAIT_MS} ms; try again`);
    const counts = report.backends;
    let plan;
    try {
      plan = planSlots(this.balancer.setup.backends, backends, (i) => counts[i]?.outstanding ?? 0);
    } catch (e) {
      return this.refuse((e as Error).message);
    }
    // what the new ring moves, from the rings the core builds (before the table changes)
    const before = activeSlots(this.balancer.setup.backends);
    const moved = await ringMoves(before, activeSlots(plan.slots));
    const core = withDefaults(next.core);
    this.hooks.before?.(plan.slots);
    const outcome = await this.balancer.reload({
      type: "reload",
      slots: plan.slots,
      keep: plan.keep,
      live: liveConfig(core),
      clients: clientGuard(next.listen.address, next.clientsAllow, next.adminClients),
      // keys the new ring moves are looked for at their old owners for a while
      ...(moved.share > 0 ? { migrateMs: next.migrationWindowSeconds * 1000 } : {}),
    });
    if (!outcome.ok) return this.refuse(`the workers refused it: ${outcome.error}`);
    await this.health.change(plan.slots, next.health);
    if (moved.share > 0) {
      this.moved = next.migrationWindowSeconds > 0 ? { ranges: moved.ranges, share: moved.share } : undefined;
      if (next.migrationWindowSeconds > 0)
        this.mover.start({
          before,
          after: activeSlots(plan.slots),
          windowMs: next.migrationWindowSeconds * 1000,
          copiesPerSecond: next.migrationCopiesPerSecond,
          requestTimeoutMs: core.natTimeoutMs,
        });
      else this.mover.stop();
    }
    this.current = next;
    const lines = [
      ...plan.added.map((b) => `added ${endpointText(b)} (weight ${b.weight})`),
      ...plan.removed.map((b) => `removed ${endpointText(b)}: off the ring, its requests in flight still answered`),
      ...plan.reweighted.map((b) => `reweighted ${endpointText(b)} to ${b.weight}`),
      ...(moved.share > 0
        ? [
            `keys that change owner: ${(moved.share * 100).toFixed(1)}% of the key space, in ${moved.ranges} ranges` +
              ` (${moved.moves
                .slice(0, 4)
                .map((m) => `${m.from} -> ${m.to} ${(m.share * 100).toFixed(1)}%`)
                .join(", ")}${moved.moves.length > 4 ? ", ..." : ""})`,
          ]
        : []),
    ];
    if (moved.share > 0 && next.migrationWindowSeconds > 0)
      lines.push(
        `migrating: for ${next.migrationWindowSeconds} s a moved key missing at its new server is read from its old one and copied`,
      );
    const summary = `reloaded: ${backends.length} backends, ${outcome.points} points on the ring`;
    this.log.info(
      {
        backends: backends.map((b) => `${endpointText(b)}:${b.weight}`),
        changes: lines,
        points: outcome.points,
        moved: { share: moved.share, ranges: moved.ranges, moves: moved.moves },
      },
      "reloaded",
    );
    return { ok: true, lines: [summary, ...lines] };
  }
}
