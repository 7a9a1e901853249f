// Load phases against a kvlb started for the phase (or straight at a memcached server), with the
// per-backend requests kvlb sent while the load ran. Shared by the demo and bench:udp.
import { startBalancer, type Balancer } from "../balancer/balancer.js";
import { zipfSampler, rng } from "./zipf.js";
import { runLoad, type LoadResult, type Endpoint, type LoadSpec, type LoadCounts } from "./udp-load.js";
import { ConfigError } from "../errors.js";
import type { CoreConfig } from "../core/config.js";
import type { Phase } from "./phase-report.js";

export interface PhaseSpec {
  keys: readonly string[];
  zipf: number;
  seconds: number;
  /** Share of operations that are sets. */
  sets: number;
  valueBytes: number;
  seed: number;
  progress?: LoadSpec["progress"];
}

export async function withBalancer<T>(
  backends: readonly number[],
  core: Partial<CoreConfig>,
  body: (b: Balancer, at: Endpoint) => Promise<T>,
): Promise<T> {
  const b = await startBalancer({
    core,
    backends: backends.map((port) => ({ host: "127.0.0.1", address: "127.0.0.1", port, weight: 1 })),
    listen: { address: "127.0.0.1", port: 0 },
    backendBind: "127.0.0.1",
  });
  try {
    return await body(b, { address: "127.0.0.1", port: b.ports.listen });
  } finally {
    await b.stop();
  }
}

/** The core settings for a run with kvlb's caches off (the detector still counts). */
export const cacheOff = (core: Partial<CoreConfig>): Partial<CoreConfig> => ({ ...core, l1Entries: 0, l2Entries: 0 });

export function zipfLoad(target: Endpoint, p: PhaseSpec): Promise<LoadResult> {
  const rank = zipfSampler(p.keys.length, p.zipf, p.seed);
  const coin = rng(p.seed + 1);
  return runLoad({
    target,
    next: () => ({ key: p.keys[rank()] ?? "", set: coin() < p.sets }),
    seconds: p.seconds,
    valueBytes: p.valueBytes,
    progress: p.progress,
  });
}

/** A Zipf load through a fresh kvlb over `backends`; `during` runs beside the load. */
export function balancedPhase(
  backends: readonly number[],
  core: Partial<CoreConfig>,
  p: PhaseSpec,
  during?: (b: Balancer) => Promise<void>,
): Promise<Phase> {
  return withBalancer(backends, core, async (b, at) => {
    const before = await b.fresh();
    const [load] = await Promise.all([zipfLoad(at, p), during?.(b)]);
    const after = await b.fresh();
    const requests = after.backends.map((x, i) => x.requests - (before.backends[i]?.requests ?? 0));
    const keysSeen = (after.stats["keys"] ?? 0) - (before.stats["keys"] ?? 0);
    const answered = (after.stats["cache_replies"] ?? 0) - (before.stats["cache_replies"] ?? 0);
    const cache = (core.l1Entries ?? 1) > 0 || (core.l2Entries ?? 1) > 0;
    return { cache, load, requests, hitRatio: keysSeen === 0 ? 0 : answered / keysSeen, hotKeys: after.hotKeys };
  });
}

/** Sets every key once, in order, at `target`; throws unless all were stored. */
// A target that answers nothing would take one timeout per key: the first set is tried alone,
// this many times, and the preload stops there when none is answered.
const PROBE_TRIES = 3;

/**
 * Sets every key once. Fails fast (after PROBE_TRIES timeouts of the first set) when nothing
 * answers at the target; `progress` hears from the rest once a second.
 */
export async function preload(
  target: Endpoint,
  keys: readonly string[],
  valueBytes: number,
  progress?: (p: LoadCounts & { elapsed: number }) => void,
): Promise<void> {
  const first = keys[0];
  if (first === undefined) return;
  let answered = false;
  for (let tries = 0; tries < PROBE_TRIES && !answered; tries++) {
    let sent = false;
    const probe = await runLoad({
      target,
      next: () => (sent ? undefined : ((sent = true), { key: first, set: true })),
      seconds: Infinity,
      valueBytes,
      sockets: 1,
    });
    answered = probe.stored + probe.errors > 0;
  }
  if (!answered) {
    throw new ConfigError(
      `${target.address}:${target.port}: nothing answered a set in ${PROBE_TRIES} tries (is kvlb, or memcached with -U, listening there?)`,
    );
  }
  let i = 0;
  const r = await runLoad({
    target,
    next: () => (i < keys.length ? { key: keys[i++] ?? "", set: true } : undefined),
    seconds: Infinity,
    valueBytes,
    ...(progress ? { progress } : {}),
  });
  if (r.stored !== keys.length) {
    throw new Error(`loading keys: ${r.stored} of ${keys.length} stored (${r.timeouts} timed out, ${r.errors} errors)`);
  }
}
