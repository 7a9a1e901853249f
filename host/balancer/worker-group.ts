// Several data-path workers as one balancer: control messages go to each, stats are summed
// (each worker's own report stays beside the sum), and the group stops, or fails, as one.
import type { Balancer } from "./balancer.js";
import { startBalancer } from "./balancer.js";
import type { WorkerSetup, StatsReport, HotKey, BackendLoad } from "../worker/messages.js";

const HOT_KEYS_REPORTED = 20;

function sumRecords(records: readonly Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of records) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function sumBackends(lists: readonly BackendLoad[][]): BackendLoad[] {
  const n = Math.max(0, ...lists.map((l) => l.length));
  return Array.from({ length: n }, (_, i) => {
    const sum: BackendLoad = { requests: 0, replies: 0, timeouts: 0, outstanding: 0, fails: 0, changes: Infinity };
    for (const l of lists) {
      const b = l[i];
      if (!b) continue;
      sum.requests += b.requests;
      sum.replies += b.replies;
      sum.timeouts += b.timeouts;
      sum.outstanding += b.outstanding;
      sum.fails = Math.max(sum.fails, b.fails); // in a row on any worker
      sum.changes = Math.min(sum.changes, b.changes); // applied by every worker
      if (b.admit !== undefined) sum.admit = Math.min(sum.admit ?? 1, b.admit); // the lowest bar of any worker
      if (b.nextHop !== undefined) sum.nextHop = (sum.nextHop ?? true) && b.nextHop; // on every worker
    }
    if (sum.changes === Infinity) sum.changes = 0;
    return sum;
  });
}

/** A key hot on several workers is one key: its estimates add up, and L1 wins over L2. */
function mergeHotKeys(lists: readonly HotKey[][]): HotKey[] {
  const byKey = new Map<string, HotKey>();
  for (const list of lists) {
    for (const k of list) {
      const seen = byKey.get(k.key);
      if (!seen) byKey.set(k.key, { ...k });
      else {
        seen.estimate += k.estimate;
        if (k.layer === "L1") seen.layer = "L1";
      }
    }
  }
  return [...byKey.values()].sort((a, b) => b.estimate - a.estimate).slice(0, HOT_KEYS_REPORTED);
}

/** The sum of the workers' reports, with each report under `workers`. */
export function mergeReports(reports: readonly StatsReport[]): StatsReport {
  const sum = (f: (r: StatsReport) => number): number => reports.reduce((a, r) => a + f(r), 0);
  const xsk = reports.flatMap((r) => r.xsk ?? []);
  return {
    type: "stats",
    stats: sumRecords(reports.map((r) => r.stats)),
    backends: sumBackends(reports.map((r) => r.backends)),
    natUsed: sum((r) => r.natUsed),
    migrating: reports.some((r) => r.migrating === true),
    natEntries: sum((r) => r.natEntries),
    l1Count: sum((r) => r.l1Count),
    l1Bytes: sum((r) => r.l1Bytes),
    l2Count: sum((r) => r.l2Count),
    observed: sum((r) => r.observed),
    hotKeys: mergeHotKeys(reports.map((r) => r.hotKeys)),
    ...(xsk.length > 0 ? { xsk } : {}),
    workers: [...reports],
  };
}

/** Starts one worker per setup; a group of one is that worker's balancer as it is. */
export async function startWorkers(setups: readonly WorkerSetup[]): Promise<Balancer> {
  const started: Balancer[] = [];
  try {
    for (const s of setups) started.push(await startBalancer(s));
  } catch (e) {
    await Promise.all(started.map((b) => b.stop()));
    throw e;
  }
  const [first] = started;
  if (!first) throw new Error("no workers to start");
  if (started.length === 1) return first;
  let merged: { from: (StatsReport | undefined)[]; report: StatsReport } | undefined;
  const latest = (): StatsReport | undefined => {
    const now = started.map((b) => b.latest());
    if (now.some((r) => r === undefined)) return undefined;
    if (!merged || merged.from.some((r, i) => r !== now[i])) {
      merged = { from: now, report: mergeReports(now as StatsReport[]) };
    }
    return merged.report;
  };
  return {
    ports: first.ports,
    xskFds: started.flatMap((b) => b.xskFds),
    send: (m) => started.forEach((b) => b.send(m)),
    setup: first.setup,
    latest,
    fresh: async () => mergeReports(await Promise.all(started.map((b) => b.fresh()))),
    stop: async () => {
      await Promise.all(started.map((b) => b.stop()));
    },
    failed: Promise.race(started.map((b, i) => b.failed.then((m) => `worker ${i}: ${m}`))),
    shape: first.shape,
    modules: () => started.flatMap((b) => b.modules()),
    swap: async (next) => (await Promise.all(started.map((b) => b.swap(next)))).flat(),
    onTrap: (listener) => started.forEach((b, i) => b.onTrap((_w, error, now) => listener(i, error, now))),
    onProbeAnswer: (listener) => started.forEach((b) => b.onProbeAnswer(listener)),
    reload: async (message) => {
      const outcomes = await Promise.all(started.map((b) => b.reload(message)));
      const failed = outcomes.find((o) => !o.ok);
      return failed ?? outcomes[0] ?? { ok: false, error: "no workers" };
    },
  };
}
