// /metrics in Prometheus' text format: the core's counters, per-backend load and gauges.
import type { StatsReport, WorkerSetup } from "../worker/messages.js";

export function metricsText(setup: WorkerSetup, r: StatsReport): string {
  const lines: string[] = [];
  const metric = (name: string, type: string, help: string, samples: [string, number][]): void => {
    lines.push(`# HELP kvlb_${name} ${help}`, `# TYPE kvlb_${name} ${type}`);
    for (const [labels, v] of samples) lines.push(`kvlb_${name}${labels} ${v}`);
  };
  for (const [k, v] of Object.entries(r.stats).sort()) metric(`${k}_total`, "counter", `core counter ${k}`, [["", v]]);
  const label = (i: number): string => {
    const b = setup.backends[i];
    return b ? `{backend="${b.host}:${b.port}"}` : `{backend="${i}"}`;
  };
  metric(
    "backend_requests_total",
    "counter",
    "requests sent to each backend",
    r.backends.map((b, i) => [label(i), b.requests]),
  );
  metric(
    "backend_timeouts_total",
    "counter",
    "requests a backend did not answer in time",
    r.backends.map((b, i) => [label(i), b.timeouts]),
  );
  metric(
    "backend_outstanding",
    "gauge",
    "requests waiting for each backend",
    r.backends.map((b, i) => [label(i), b.outstanding]),
  );
  metric("nat_entries_used", "gauge", "request-id NAT entries in use", [["", r.natUsed]]);
  metric("l1_keys", "gauge", "keys in the L1 hot-key table", [["", r.l1Count]]);
  metric("l2_keys", "gauge", "keys in the L2 skip list", [["", r.l2Count]]);
  return lines.join("\n") + "\n";
}
