// Which parts of the key space change owner when the ring changes: the ranges of the 32-bit hash
// space between the points of the old ring and the new one whose server differs. Both rings come
// from the core itself (a scratch instance), so the ranges are exactly the ones kvlb routes by.
import * as abi from "../../assembly/abi/abi.js";
import { loadCore } from "../core/loader.js";
import { setBackends, type Backend } from "../core/backends.js";
import type { Core } from "../core/core.js";
import { endpointText } from "./backend-slots.js";

interface Point {
  value: number;
  server: string;
}

export interface RingMoves {
  /** Ranges of the hash space whose owner changes (adjacent ones with the same move joined). */
  ranges: number;
  /** The share of the hash space, and so of keys, that changes owner. */
  share: number;
  /** Each move from one server to another, with its share, largest first. */
  moves: { from: string; to: string; share: number }[];
}

/** The ring the core builds for these backends, as (value, server) in order. */
function ringOf(backends: readonly Backend[], c: Core): Point[] {
  setBackends(c, backends);
  const base = c.region(abi.R_ROUTE).offset;
  const count = c.u32[(base + abi.RT_POINTS) >>> 2] ?? 0;
  const view = new DataView(c.memory.buffer, base + abi.ROUTE_RING, count * 8);
  return Array.from({ length: count }, (_, i) => {
    const v = view.getBigUint64(i * 8, true);
    const b = backends[Number(v & 0xffffffffn)];
    return { value: Number(v >> 32n), server: b ? endpointText(b) : "?" };
  });
}

/** The server of the first point at or after `h`, wrapping past the end. */
function owner(ring: readonly Point[], h: number): string {
  let lo = 0;
  let hi = ring.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((ring[mid]?.value ?? 0) < h) lo = mid + 1;
    else hi = mid;
  }
  return (ring[lo === ring.length ? 0 : lo] ?? { server: "?" }).server;
}

/** What moves from the ring of `before` to the ring of `after`. */
export async function ringMoves(before: readonly Backend[], after: readonly Backend[]): Promise<RingMoves> {
  const core = await loadCore();
  const a = ringOf(before, core);
  const b = ringOf(after, core);
  if (a.length === 0 || b.length === 0) return { ranges: 0, share: before.length === 0 ? 0 : 1, moves: [] };
  // every point of either ring bounds a range whose owners are those of its upper end
  const bounds = [...new Set([...a, ...b].map((p) => p.value))].sort((x, y) => x - y);
  const byPair = new Map<string, number>();
  let ranges = 0;
  let moved = 0;
  let lastMoved = "";
  bounds.forEach((upper, i) => {
    const lower = i === 0 ? (bounds[bounds.length - 1] ?? 0) - 2 ** 32 : (bounds[i - 1] ?? 0);
    const from = owner(a, upper);
    const to = owner(b, upper);
    const pair = `${from} ${to}`;
    if (from !== to) {
      const size = upper - lower;
      moved += size;
      byPair.set(pair, (byPair.get(pair) ?? 0) + size);
      if (pair !== lastMoved) ranges++;
    }
    lastMoved = from !== to ? pair : "";
  });
  const moves = [...byPair]
    .map(([pair, size]) => {
      const [from = "", to = ""] = pair.split(" ");
      return { from, to, share: size / 2 ** 32 };
    })
    .sort((x, y) => y.share - x.share);
  return { ranges, share: moved / 2 ** 32, moves };
}
