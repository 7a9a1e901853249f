// The demo's and the benchmark's closing table: per-backend load, imbalance, hit ratio,
// throughput and latency, for a run with kvlb's cache off beside one with it on.
import type { LoadResult } from "./udp-load.js";
import type { HotKey } from "../worker/messages.js";
import { count, percent, printable, table } from "../util/table.js";
import { imbalance } from "../util/imbalance.js";

export interface Phase {
  cache: boolean;
  load: LoadResult;
  /** Requests kvlb sent each backend during the phase. */
  requests: number[];
  /** Share of requested keys kvlb answered itself. */
  hitRatio: number;
  hotKeys: HotKey[];
}

export function phaseReport(ports: readonly number[], off: Phase, on: Phase, host = "127.0.0.1"): string[] {
  const rate = (p: Phase, i: number): string => count((p.requests[i] ?? 0) / p.load.seconds);
  const share = (p: Phase, i: number): string => {
    const total = p.requests.reduce((a, b) => a + b, 0);
    return percent(total === 0 ? 0 : (p.requests[i] ?? 0) / total);
  };
  const both = (f: (p: Phase) => string): [string, string] => [f(off), f(on)];
  const rows: string[][] = [
    ...ports.map((port, i) => [
      `${host}:${port} req/s (share)`,
      `${rate(off, i)} (${share(off, i)})`,
      `${rate(on, i)} (${share(on, i)})`,
    ]),
    ["imbalance, max/mean", ...both((p) => imbalance(p.requests).toFixed(3))],
    ["answered by kvlb", ...both((p) => percent(p.hitRatio))],
    ["throughput, ops/s", ...both((p) => count(p.load.opsPerSecond))],
    ["latency p50 / p99, µs", ...both((p) => `${count(p.load.latencyUs.p50)} / ${count(p.load.latencyUs.p99)}`)],
    ["gets hit / missed", ...both((p) => `${count(p.load.hits)} / ${count(p.load.misses)}`)],
    ["errors / timeouts", ...both((p) => `${count(p.load.errors)} / ${count(p.load.timeouts)}`)],
  ];
  const busiest = (p: Phase): number => Math.max(...p.requests) / p.load.seconds;
  const cut = 1 - busiest(on) / Math.max(busiest(off), 1);
  const hot = on.hotKeys.filter((k) => k.layer === "L1").map((k) => printable(k.key));
  return [
    ...table(["", "cache off", "cache on"], rows),
    "",
    `hot keys in L1 (${hot.length}): ${hot.slice(0, 8).join(" ")}${hot.length > 8 ? " …" : ""}`,
    `With its cache on, kvlb answered ${percent(on.hitRatio)} of keys itself; the busiest backend's load fell by ` +
      `${percent(cut)}, and the imbalance went from ${imbalance(off.requests).toFixed(3)} to ${imbalance(on.requests).toFixed(3)}.`,
  ];
}
