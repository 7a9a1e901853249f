// Latency in microseconds, kept in log-spaced buckets (about 2% wide) so a long run costs no
// memory per sample.
const PER_DOUBLING = 32;
const BUCKETS = PER_DOUBLING * 24; // 1 µs .. ~16 s

export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private n = 0;
  max = 0;

  record(us: number): void {
    const b = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log2(us) * PER_DOUBLING));
    this.counts[b] = (this.counts[b] ?? 0) + 1;
    this.n++;
    if (us > this.max) this.max = us;
  }

  /** The upper edge of the bucket holding quantile q, in microseconds. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const want = q * this.n;
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b] ?? 0;
      if (seen >= want) return Math.min(Math.pow(2, (b + 1) / PER_DOUBLING), this.max);
    }
    return this.max;
  }
}
