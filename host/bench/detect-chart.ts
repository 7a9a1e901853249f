// bench:detect's chart, drawn with vega-lite and rendered to SVG by vega in Node: each module's
// recall, precision and largest estimate error over the skew.
import type { TopLevelSpec } from "vega-lite";
import { svgChart } from "../util/svg-chart.js";

export interface AccuracyPoint {
  module: string;
  theta: number;
  precision: number;
  recall: number;
  /** The largest |estimate - true count| over the hot keys, as a share of N. */
  maxError: number;
}

export async function detectChart(points: readonly AccuracyPoint[]): Promise<string> {
  const long = points.flatMap((p) => [
    { module: p.module, theta: p.theta, measure: "recall", value: p.recall },
    { module: p.module, theta: p.theta, measure: "precision", value: p.precision },
  ]);
  const line = (title: string, values: object[], y: string, yTitle: string, extra: object = {}): TopLevelSpec =>
    ({
      title,
      width: 260,
      height: 180,
      data: { values },
      mark: { type: "line", point: true },
      encoding: {
        x: { field: "theta", type: "quantitative", title: "Zipf θ", scale: { zero: false } },
        y: { field: y, type: "quantitative", title: yTitle },
        color: { field: "module", type: "nominal" },
        ...extra,
      },
    }) as TopLevelSpec;
  const spec: TopLevelSpec = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    hconcat: [
      line("Recall and precision of the hot keys", long, "value", "share", {
        strokeDash: { field: "measure", type: "nominal" },
      }),
      line("Largest estimate error on a hot key", [...points], "maxError", "error / N"),
    ],
  } as TopLevelSpec;
  return svgChart(spec);
}
