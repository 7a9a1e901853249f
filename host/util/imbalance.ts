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
