// How unevenly backends are loaded, given the share of the keys their ketama weights give them.

/**
 * The most loaded backend's share of the requests over the share its weight entitles it to
 * (weight over the sum of weights); 1 is a perfect balance. With equal weights (or none) it is
 * max/mean. 0 when there were no requests.
 */
export function imbalance(requests: readonly number[], weights?: readonly number[]): number {
  const total = requests.reduce((a, b) => a + b, 0);
  if (total === 0 || requests.length === 0) return 0;
  const w = requests.map((_, i) => weights?.[i] ?? 1);
  const totalWeight = w.reduce((a, b) => a + b, 0);
  return Math.max(...requests.map((r, i) => r / total / ((w[i] ?? 1) / totalWeight)));
}

/**
 * The imbalance that chance alone gives `total` requests spread evenly at random over `backends`
 * servers (the mean of max/mean over `trials` draws): a perfectly balanced load, counted over a
 * short window, still reads above 1. A measured imbalance near this figure says the window was
 * too short to tell, not that the balancer left a server hot. `random` is for tests.
 */
export function chanceImbalance(total: number, backends: number, trials = 200, random = Math.random): number {
  if (total <= 0 || backends <= 1) return total <= 0 ? 0 : 1;
  const counts = new Float64Array(backends);
  let sum = 0;
  for (let t = 0; t < trials; t++) {
    counts.fill(0);
    for (let i = 0; i < total; i++) {
      const b = Math.floor(random() * backends);
      counts[b] = (counts[b] ?? 0) + 1;
    }
    sum += imbalance(Array.from(counts));
  }
  return sum / trials;
}
