// A vega-lite spec rendered to SVG by vega in Node: no browser, no canvas.
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export function svgChart(spec: TopLevelSpec): Promise<string> {
  return new vega.View(vega.parse(compile(spec).spec), { renderer: "none" }).toSVG();
}
