// Seeded Zipf(θ) draws over n ranks, and the distinct keys they name.

/** mulberry32: a small, fast, seeded PRNG, so runs are repeatable. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seeded sampler of ranks in [0, n) from Zipf(theta): rank r has weight 1 / (r + 1)^theta. */
export function zipfSampler(n: number, theta: number, seed: number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let r = 0; r < n; r++) {
    sum += 1 / Math.pow(r + 1, theta);
    cdf[r] = sum;
  }
  const random = rng(seed);
  return () => {
    const u = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] ?? 0) < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** `count` ranks in [0, n) drawn from Zipf(theta). */
export function zipfDraws(n: number, theta: number, count: number, seed: number): Uint32Array {
  const next = zipfSampler(n, theta, seed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = next();
  return out;
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

/** n distinct memcached keys of `minLen`..`maxLen` bytes; key i starts with its number. */
export function makeKeys(n: number, minLen: number, maxLen: number, seed: number): string[] {
  const random = rng(seed);
  const keys: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const len = minLen + Math.floor(random() * (maxLen - minLen + 1));
    let k = `key:${i}:`;
    while (k.length < len) k += ALPHABET[Math.floor(random() * ALPHABET.length)];
    keys[i] = k;
  }
  return keys;
}
