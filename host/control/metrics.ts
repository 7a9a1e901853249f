// /metrics through prom-client. The worker owns the counters; each scrape copies its latest report
// into the registry, so a scrape never reaches into the data path.
import { Registry, Counter, Gauge, collectDefaultMetrics } from "prom-client";
import type { StatsReport, WorkerSetup } from "../worker/messages.js";
import { statsView, type WorkerView } from "./stats-view.js";
import type { BackendHealthView } from "./health.js";
import type { ReloadStatus } from "./reload-status.js";

type Labels = Record<string, string>;
type Samples = [Labels, number][];

export interface Metrics {
  registry: Registry;
  text(): Promise<string>;
}

export function createMetrics(
  setup: WorkerSetup,
  latest: () => StatsReport | undefined,
  health?: () => readonly BackendHealthView[],
  reloads?: () => ReloadStatus,
): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "kvlb_" });

  const family = (
    kind: "counter" | "gauge",
    name: string,
    help: string,
    labelNames: string[],
    samples: (r: StatsReport) => Samples,
  ): void => {
    const collect = function (this: Counter | Gauge): void {
      const r = latest();
      if (!r) return;
      this.reset();
      for (const [labels, v] of samples(r)) {
        if (this instanceof Counter) this.inc(labels, v);
        else this.set(labels, v);
      }
    };
    const options = { name: `kvlb_${name}`, help, labelNames, registers: [registry], collect };
    if (kind === "counter") new Counter(options);
    else new Gauge(options);
  };
  // One view per report, not one per metric family of a scrape.
  let viewed: { report: StatsReport; view: ReturnType<typeof statsView> } | undefined;
  const view = (r: StatsReport): ReturnType<typeof statsView> => {
    if (viewed?.report !== r) viewed = { report: r, view: statsView(setup, r) };
    return viewed.view;
  };
  const perBackend =
    (field: "requests" | "replies" | "timeouts" | "outstanding") =>
    (r: StatsReport): Samples =>
      view(r).backends.map((b) => [{ backend: b.backend }, b[field]]);
  const entries = (o: Record<string, number>, label: string): Samples =>
    Object.entries(o).map(([k, v]) => [{ [label]: k }, v]);

  family("counter", "backend_requests_total", "requests sent to each backend", ["backend"], perBackend("requests"));
  family("counter", "backend_replies_total", "replies from each backend", ["backend"], perBackend("replies"));
  family("counter", "backend_timeouts_total", "requests a backend did not answer in time", ["backend"], (r) =>
    perBackend("timeouts")(r),
  );
  if (health) {
    new Gauge({
      name: "kvlb_backend_up",
      help: "1 while the health checks find a backend up, 0 while it is down",
      labelNames: ["backend"],
      registers: [registry],
      collect(this: Gauge): void {
        this.reset();
        for (const h of health()) this.set({ backend: h.backend }, h.state === "up" ? 1 : 0);
      },
    });
  }
  if (reloads) {
    new Counter({
      name: "kvlb_reloads_total",
      help: "reloads of the config file, applied or refused",
      labelNames: ["outcome"],
      registers: [registry],
      collect(this: Counter): void {
        this.reset();
        const s = reloads();
        this.inc({ outcome: "applied" }, s.applied);
        this.inc({ outcome: "refused" }, s.refused);
      },
    });
    new Gauge({
      name: "kvlb_migration_ranges",
      help: "ranges of the key space whose owner the last reload with a migration window changed",
      registers: [registry],
      collect(this: Gauge): void {
        this.set(reloads().migration?.ranges ?? 0);
      },
    });
    new Gauge({
      name: "kvlb_migration_mover_keys",
      help: "the migration mover's moved keys: found on the old servers, and handed to the workers to copy",
      labelNames: ["state"],
      registers: [registry],
      collect(this: Gauge): void {
        const p = reloads().migration?.mover;
        this.set({ state: "found" }, p?.keysFound ?? 0);
        this.set({ state: "handed" }, p?.keysHanded ?? 0);
      },
    });
  }
  family("gauge", "backend_outstanding", "requests waiting for each backend", ["backend"], perBackend("outstanding"));
  family(
    "gauge",
    "retired_backend_outstanding",
    "requests in flight to each backend a reload took off the ring, until it has drained",
    ["backend"],
    (r) => view(r).retired.map((b) => [{ backend: b.backend }, b.outstanding]),
  );
  family("counter", "cache_hits_total", "keys answered from a cache layer", ["layer"], (r) => [
    [{ layer: "l1" }, view(r).cache.l1Hits],
    [{ layer: "l2" }, view(r).cache.l2Hits],
  ]);
  family("counter", "cache_misses_total", "key lookups a cache layer missed", ["layer"], (r) => [
    [{ layer: "l1" }, view(r).cache.l1Misses],
    [{ layer: "l2" }, view(r).cache.l2Misses],
  ]);
  family("gauge", "cache_keys", "keys held by each cache layer", ["layer"], (r) => [
    [{ layer: "l1" }, r.l1Count],
    [{ layer: "l2" }, r.l2Count],
  ]);
  family("gauge", "hot_keys", "keys the detector reports hot", [], (r) => [[{}, view(r).hotKeys]]);
  family("counter", "replica_events_total", "hot keys' replica sets: what happened, by event", ["event"], (r) =>
    entries(view(r).replicas, "event"),
  );
  family("gauge", "migration_open", "1 while moved keys are still looked for at their old servers", [], (r) => [
    [{}, view(r).migration.open ? 1 : 0],
  ]);
  family("counter", "migration_events_total", "live migration: what happened, by event", ["event"], (r) => {
    const m = view(r).migration;
    return entries(
      {
        fallbacks: m.fallbacks,
        retries: m.retries,
        reads: m.reads,
        copied: m.copied,
        notCopied: m.notCopied,
        oldDeletes: m.oldDeletes,
        busy: m.busy,
      },
      "event",
    );
  });
  family("gauge", "nat_entries_used", "request-id NAT entries in use", [], (r) => [[{}, r.natUsed]]);
  family("gauge", "nat_entries", "request-id NAT entries in all", [], (r) => [[{}, r.natEntries]]);
  family("counter", "nat_overflow_total", "requests refused because the NAT table was full", [], (r) => [
    [{}, view(r).nat.overflow],
  ]);
  family("counter", "datagrams_total", "datagrams by where they came from or went", ["path"], (r) =>
    entries(view(r).datagrams, "path"),
  );
  family("counter", "drops_total", "datagrams dropped, by reason", ["reason"], (r) => entries(view(r).drops, "reason"));
  family("gauge", "tcp_connections", "client connections open over TCP", [], (r) => [[{}, view(r).tcp.open]]);
  family("counter", "tcp_events_total", "clients over TCP: connections and requests, by event", ["event"], (r) =>
    entries(Object.fromEntries(Object.entries(view(r).tcp).filter(([k]) => k !== "open")), "event"),
  );
  family("gauge", "tcp_backend_connections", "connections open to backends over TCP", [], (r) => [
    [{}, view(r).tcpBackends.open],
  ]);
  family(
    "counter",
    "tcp_backend_events_total",
    "backends over TCP: connections, replies and losses, by event",
    ["event"],
    (r) => entries(Object.fromEntries(Object.entries(view(r).tcpBackends).filter(([k]) => k !== "open")), "event"),
  );
  family("counter", "errors_total", "requests answered with an error, by kind", ["kind"], (r) =>
    entries(view(r).errors, "kind"),
  );
  // Each worker's share, with several workers; the families above are their sums.
  const perWorker = (pick: (w: WorkerView) => Samples) => (r: StatsReport) =>
    (view(r).workers ?? []).flatMap((w) =>
      pick(w).map(([labels, v]): [Labels, number] => [{ worker: String(w.worker), ...labels }, v]),
    );
  family(
    "counter",
    "worker_datagrams_total",
    "datagrams by path, for each worker",
    ["worker", "path"],
    perWorker((w) => entries(w.datagrams, "path")),
  );
  family(
    "counter",
    "worker_cache_hits_total",
    "keys answered from a cache layer, for each worker",
    ["worker", "layer"],
    perWorker((w) => [
      [{ layer: "l1" }, w.cache.l1Hits],
      [{ layer: "l2" }, w.cache.l2Hits],
    ]),
  );
  family(
    "gauge",
    "worker_cache_keys",
    "keys held by each cache layer, for each worker",
    ["worker", "layer"],
    perWorker((w) => [
      [{ layer: "l1" }, w.cache.l1Keys],
      [{ layer: "l2" }, w.cache.l2Keys],
    ]),
  );
  family("counter", "core_events_total", "every counter of the WebAssembly core", ["counter"], (r) =>
    entries(r.stats, "counter"),
  );

  return { registry, text: () => registry.metrics() };
}
