// The demo's cache-on phase swaps kvlb's hot-key detector mid-load, to show the hot swap at
// work: lossy counting -> Space-Saving -> Count-Min -> lossy counting, spread over the phase.
import { progressDone } from "../load/progress.js";
import type { DetectorModule } from "../core/loader.js";

export const DEMO_SWAPS: readonly DetectorModule[] = ["space-saving", "count-min", "lossy"];

type Print = (line: string) => void;

/** Runs `swap` for each module in turn during a phase of `seconds`, printing each outcome. */
export async function swapsDuring(
  seconds: number,
  swap: (m: DetectorModule) => Promise<string>,
  print: Print,
): Promise<void> {
  const gap = (seconds * 1000) / (DEMO_SWAPS.length + 1);
  for (const m of DEMO_SWAPS) {
    await new Promise((r) => setTimeout(r, gap));
    let line: string;
    try {
      line = `swap: ${await swap(m)}`;
    } catch (e) {
      line = `swap to ${m} refused: ${(e as Error).message}`;
    }
    progressDone(); // off the progress line, where there is one
    print(`  ${line}`);
  }
}
