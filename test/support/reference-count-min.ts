// Count-Min as Cormode and Muthukrishnan describe it ("An improved data stream summary: the
// count-min sketch and its applications", 2005), written from the paper rather than from
// kvlb's code: d rows of w = ⌈e/ε⌉ counters, row i hashing with its own pairwise-independent
// h_i(x) = ((a_i·x + b_i) mod p) mod w over a prime p, and the estimate the minimum over rows.
// Its hashes differ from the core's, so the two agree on the guarantees, not on each estimate.
const P = (1n << 61n) - 1n; // a Mersenne prime, larger than any fingerprint below

/** A key's fingerprint in [0, p): a polynomial hash of its bytes modulo p. */
function fingerprint(key: string): bigint {
  let x = 0n;
  for (const b of Buffer.from(key, "latin1")) x = (x * 257n + BigInt(b) + 1n) % P;
  return x;
}

export class ReferenceCountMin {
  private readonly rows: bigint[][];
  private readonly hashes: { a: bigint; b: bigint }[];
  readonly width: number;

  constructor(epsilon: number, depth: number, seed = 1) {
    this.width = Math.ceil(Math.E / epsilon);
    let s = BigInt(seed);
    const next = (): bigint => (s = (s * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n)) % P;
    this.hashes = Array.from({ length: depth }, () => ({ a: (next() % (P - 1n)) + 1n, b: next() }));
    this.rows = this.hashes.map(() => Array<bigint>(this.width).fill(0n));
  }

  private column(x: bigint, row: number): number {
    const h = this.hashes[row] ?? { a: 1n, b: 0n };
    return Number(((h.a * x + h.b) % P) % BigInt(this.width));
  }

  add(key: string, weight = 1n): void {
    const x = fingerprint(key);
    this.rows.forEach((r, i) => {
      const c = this.column(x, i);
      r[c] = (r[c] ?? 0n) + weight;
    });
  }

  estimate(key: string): bigint {
    const x = fingerprint(key);
    return this.rows.reduce(
      (min, r, i) => {
        const v = r[this.column(x, i)] ?? 0n;
        return v < min ? v : min;
      },
      (1n << 64n) - 1n,
    );
  }
}
