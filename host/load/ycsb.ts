// YCSB's core workloads as streams of memcached operations over a Zipf(θ) popularity:
//   A  50% updates, 50% reads        B  5% updates, 95% reads
//   C  reads only                    D  5% inserts, 95% reads of the latest keys
// A stream's hot set can move (shift): the same popularity then falls on other keys, as when
// the news of the day changes.
import { zipfSampler, rng } from "./zipf.js";
import type { OpenLoopOp } from "./open-loop.js";

export type Workload = "A" | "B" | "C" | "D";
export const WORKLOADS: readonly Workload[] = ["A", "B", "C", "D"];

const writeShare: Record<Workload, number> = { A: 0.5, B: 0.05, C: 0, D: 0.05 };

export const workloadText: Record<Workload, string> = {
  A: "A (50% updates)",
  B: "B (5% updates)",
  C: "C (read only)",
  D: "D (5% inserts, reads of the latest)",
};

export class YcsbStream {
  private readonly rank: () => number;
  private readonly random: () => number;
  private offset = 0;
  private inserted = 0;

  constructor(
    private readonly keys: readonly string[],
    private readonly workload: Workload,
    theta: number,
    seed: number,
  ) {
    this.rank = zipfSampler(keys.length, theta, seed);
    this.random = rng(seed ^ 0x5bd1e995);
  }

  /** The key of popularity rank r: for D the r-th newest, for the others a fixed permutation. */
  private keyAt(r: number): string {
    const n = this.keys.length;
    if (this.workload === "D") {
      const newest = n - 1 + this.inserted;
      const i = newest - r;
      return i < n ? (this.keys[(i + this.offset) % n] ?? "") : `${this.keys[i % n] ?? ""}:new:${i}`;
    }
    return this.keys[(r + this.offset) % n] ?? "";
  }

  next(): OpenLoopOp {
    const write = this.random() < writeShare[this.workload];
    if (write && this.workload === "D") {
      this.inserted++;
      return { key: this.keyAt(0), set: true };
    }
    return { key: this.keyAt(this.rank()), set: write };
  }

  /** Moves the hot set onto other keys: popularity rank r now names another key. */
  shift(): void {
    this.offset += Math.floor(this.keys.length / 2) + 7;
  }
}
