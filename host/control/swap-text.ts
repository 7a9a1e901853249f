// A module swap's outcome in a line, as the CLI and the demo print it.
import type { SwapReport } from "./modules.js";
import type { ModuleInfo } from "../core/swap.js";

export const describe = (m: ModuleInfo): string => `${m.name} v${m.version} (sha256 ${m.sha256.slice(0, 12)}…)`;

export function reportText(r: SwapReport): string {
  const pauses = r.pausesUs.map((p) => `${p.toFixed(0)} µs`).join(", ");
  return `swapped to ${describe(r.module)} on ${r.workers} worker${r.workers === 1 ? "" : "s"}; pause ${pauses}`;
}
