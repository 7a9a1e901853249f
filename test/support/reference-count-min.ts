// A plain Count-Min sketch over the core's 64-bit key hashes, with the core's rows and column
// hashing (assembly/detect/count-min.ts): the reference the core's sketch must agree with,
// estimate for estimate.
const SEEDS = [0x9e3779b97f4a7c15n, 0xc2b2ae3d27d4eb4fn, 0x165667b19e3779f9n, 0xd6e8feb86659fd93n];
const MASK64 = (1n << 64n) - 1n;

export class ReferenceCountMin {
  private readonly rows: bigint[][];
  readonly width: number;

  constructor(epsilon: number) {
    this.width = Math.ceil(Math.E / epsilon);
    this.rows = SEEDS.map(() => Array<bigint>(this.width).fill(0n));
  }

  private column(h: bigint, row: number): number {
    const mixed = ((h * (SEEDS[row] ?? 0n)) & MASK64) >> 32n;
    return Number((mixed * BigInt(this.width)) >> 32n);
  }

  add(h: bigint, weight = 1n): void {
    this.rows.forEach((r, i) => {
      const c = this.column(h, i);
      r[c] = (r[c] ?? 0n) + weight;
    });
  }

  estimate(h: bigint): bigint {
    return this.rows.reduce((min, r, i) => {
      const v = r[this.column(h, i)] ?? 0n;
      return v < min ? v : min;
    }, MASK64);
  }
}
