// bench:skew's chart, drawn with vega-lite and rendered to SVG by vega in Node (no browser):
// the throughput each arm sustains at the SLO over the skew, and each backend's load over time
// around a hot-set shift.
import type { TopLevelSpec } from "vega-lite";
import { svgChart } from "../util/svg-chart.js";
import { imbalance } from "../util/imbalance.js";

export interface SloPoint {
  arm: string;
  workload: string;
  theta: number;
  throughput: number;
}

export interface ShiftSample {
  /** Seconds since the sampled run began. */
  t: number;
  /** Requests each backend served since the sample before. */
  loads: number[];
}

export async function skewChart(
  slo: readonly SloPoint[],
  shift: readonly ShiftSample[],
  shiftAt: number,
): Promise<string> {
  const loads = shift.flatMap((s) => s.loads.map((l, i) => ({ t: s.t, backend: `backend ${i}`, load: l })));
  const imbalances = shift.map((s) => ({ t: s.t, imbalance: imbalance(s.loads) }));
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    // the arms and the backends are different things: each panel keeps its own colours
    resolve: { scale: { color: "independent" }, legend: { color: "independent" } },
    vconcat: [
      {
        title: "Highest rate with p99 under the SLO, workload B, by skew",
        width: 520,
        height: 240,
        data: { values: slo.filter((p) => p.workload === "B") },
        mark: { type: "line", point: true },
        encoding: {
          x: { field: "theta", type: "quantitative", title: "Zipf θ", scale: { zero: false } },
          y: { field: "throughput", type: "quantitative", title: "ops/s at the SLO" },
          color: { field: "arm", type: "nominal", title: null, legend: { orient: "bottom", columns: 1 } },
        },
      },
      {
        title: "Each backend's requests per 250 ms through kvlb; the hot set moves at the dashed line",
        width: 520,
        height: 200,
        data: { values: loads },
        mark: "line",
        encoding: {
          x: { field: "t", type: "quantitative", title: "seconds" },
          y: { field: "load", type: "quantitative", title: "requests per 250 ms" },
          color: { field: "backend", type: "nominal", legend: null },
        },
      },
      {
        title: "Max/mean backend load (1 is even)",
        width: 520,
        height: 120,
        data: { values: imbalances },
        layer: [
          {
            mark: "line",
            encoding: {
              x: { field: "t", type: "quantitative", title: "seconds" },
              y: { field: "imbalance", type: "quantitative", scale: { zero: false } },
            },
          },
          {
            mark: { type: "rule", strokeDash: [4, 4] },
            data: { values: [{ t: shiftAt }] },
            encoding: { x: { field: "t", type: "quantitative" } },
          },
        ],
      },
    ],
  };
  return svgChart(spec);
}
