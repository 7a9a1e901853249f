// The demo's close: the table, what the person just saw in one sentence, and a chart of each
// backend's requests per second with the cache off and on.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { phaseReport, type Phase } from "../load/phase-report.js";
import { count, percent } from "../util/table.js";
import { svgChart } from "../util/svg-chart.js";

const busiestShare = (p: Phase): number => {
  const total = p.requests.reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : Math.max(...p.requests) / total;
};

/** One sentence: the busiest backend and the cluster's throughput, off then on. */
export function whatYouSaw(off: Phase, on: Phase, capPercent: number): string {
  const ratio = on.load.opsPerSecond / Math.max(off.load.opsPerSecond, 1);
  const held = capPercent > 0 ? `, held to ${capPercent}% of a CPU,` : "";
  return (
    `What you saw: with the cache off, the memcached that owns the hottest keys took ` +
    `${percent(busiestShare(off))} of the requests${held} and held the cluster to ${count(off.load.opsPerSecond)} ops/s ` +
    `(p99 ${count(off.load.latencyUs.p99)} µs); with kvlb answering ${percent(on.hitRatio)} of keys itself, the busiest ` +
    `took ${percent(busiestShare(on))} and the cluster served ${count(on.load.opsPerSecond)} ops/s, ${ratio.toFixed(2)}× as much.`
  );
}

/** Writes the per-backend chart to `path` (SVG). */
async function writeDemoChart(path: string, names: readonly string[], off: Phase, on: Phase): Promise<void> {
  const rows = [off, on].flatMap((p) =>
    names.map((backend, i) => ({
      backend,
      cache: p.cache ? "cache on" : "cache off",
      rate: Math.round((p.requests[i] ?? 0) / p.load.seconds),
    })),
  );
  const svg = await svgChart({
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: `requests per second at each memcached: cache off ${count(off.load.opsPerSecond)} ops/s, on ${count(on.load.opsPerSecond)} ops/s`,
    data: { values: rows },
    mark: "bar",
    encoding: {
      x: { field: "backend", type: "nominal", title: null },
      xOffset: { field: "cache" },
      y: { field: "rate", type: "quantitative", title: "requests/s the backend served" },
      color: { field: "cache", type: "nominal", title: null },
    },
    width: 420,
    height: 260,
  });
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, svg);
}

type Print = (line: string) => void;

/** The closing table, the sentence, the chart; false when the load saw errors or timeouts. */
export async function demoReport(
  ports: readonly number[],
  host: string,
  off: Phase,
  on: Phase,
  capPercent: number,
  chart: string,
  print: Print,
): Promise<boolean> {
  for (const line of phaseReport(ports, off, on, host)) {
    if (!line.startsWith("hot keys") || on.hotKeys.length > 0) print(line);
  }
  print("");
  print(whatYouSaw(off, on, capPercent));
  await writeDemoChart(
    chart,
    ports.map((p) => `${host}:${p}`),
    off,
    on,
  );
  print(`chart: ${chart}`);
  const failed = [off, on].some((p) => p.load.errors > 0 || p.load.timeouts > p.load.ops / 1000);
  if (failed) print("kvlb demo: FAILED: errors or more than 0.1% timeouts (see above)");
  return !failed;
}
