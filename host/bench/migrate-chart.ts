// bench:migrate's chart, drawn with vega-lite and rendered to SVG by vega in Node (no browser):
// the share of gets that missed, per 250 ms, around the moment the cluster changed.
import type { TopLevelSpec } from "vega-lite";
import { svgChart } from "../util/svg-chart.js";

export interface MissSeries {
  arm: string;
  changedAt: number;
  /** Seconds from the change, and the share of gets that missed in the sample ending then. */
  points: { t: number; miss: number }[];
}

export function migrateChart(series: readonly MissSeries[]): Promise<string> {
  const values = series.flatMap((s) => s.points.map((p) => ({ arm: s.arm, t: p.t, miss: p.miss })));
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    title: "Gets that missed, per 250 ms; the cluster changes at 0 s",
    width: 560,
    height: 260,
    data: { values },
    mark: "line",
    encoding: {
      x: { field: "t", type: "quantitative", title: "seconds from the change" },
      y: { field: "miss", type: "quantitative", title: "miss ratio", axis: { format: "%" } },
      color: { field: "arm", type: "nominal", title: null, legend: { orient: "bottom", columns: 2, labelLimit: 400 } },
    },
  };
  return svgChart(spec);
}
