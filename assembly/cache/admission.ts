// The adaptive hot set. The operator states a goal, an imbalance bound (C_IMBALANCE: the busiest
// backend's load over the mean, weights counted), and the core tunes which keys L2 takes to keep
// it: every C_ADAPT_MS it compares each backend's requests since the last look with the mean.
// A backend over the bound has the bar for its keys halved (B_ADMIT), so that its cooler keys
// enter L2 and stop reaching it; a backend under the mean for CALM_ROUNDS looks in a row has its
// bar raised again, slowly, so that L2's room goes where it relieves someone. This is the
// reference design's self-adaptive counting, steered by the load the backends actually see
// (what the cache already serves never reaches them), not by a threshold chosen in advance.
import { cfgU32, cfgF64, statInc } from "../layout/header";
import { backendCount, backend, backendWeight, backendUp } from "../route/backends";
import { slCount, slCapacity, slMin, slFreq } from "./skiplist";
import { trackedTotal, warmShare } from "../detect/table";
import {
  HEADER_BASE,
  H_ADAPT_AT,
  B_ADMIT,
  B_ADAPT_MARK,
  B_CALM,
  B_REQUESTS,
  C_ADAPT_MS,
  C_IMBALANCE,
  S_ADMIT_WIDER,
  S_ADMIT_NARROWER,
} from "../abi/abi";

const WIDEN: f64 = 0.5;
const NARROW: f64 = 1.25;
const CALM_ROUNDS: u32 = 4;
// fewer requests than this in a period say nothing about the backends' balance
const MIN_SAMPLE: f64 = 64.0;

// The lowest bar: a thousandth of the warm share. Below the detector's error ε an estimate no
// longer ranks keys on its own, but L2 takes a key only over its coldest entry (l2Takes), so
// what enters is still the warmest the detector knows of the backend's keys.
const FLOOR: f64 = 1.0 / 1024.0;

// Whether a key with estimate f, homed on backend b, is warm enough for L2: at least the warm
// share of N, scaled by the bar the adaptation set for b.
export function warmOn(d: usize, f: u64, b: u32): bool {
  if (f == 0) return false;
  const bar = b < backendCount() ? load<f64>(backend(b) + B_ADMIT) : 1.0;
  return <f64>f >= warmShare(d) * bar * <f64>trackedTotal(d);
}

// Whether L2 would take a key of frequency f: it has room, or f beats the coldest entry (a
// colder key would only push out a warmer one, and be pushed out in turn).
export function l2Takes(s: usize, f: u64): bool {
  const cap = slCapacity(s);
  if (cap == 0) return false;
  return slCount(s) < cap || f > slFreq(s, slMin(s));
}

// Runs from tick(): one adaptation per C_ADAPT_MS, at most.
export function adaptAdmission(now: u64): void {
  const bound = cfgF64(C_IMBALANCE);
  if (bound == 0.0) return;
  const at = HEADER_BASE + H_ADAPT_AT;
  const last = load<u64>(at);
  if (last != 0 && now - last < <u64>cfgU32(C_ADAPT_MS) * 1000000) return;
  store<u64>(at, now);
  const n = backendCount();
  let total: f64 = 0;
  let weights: f64 = 0;
  for (let i: u32 = 0; i < n; i++) {
    if (!backendUp(i)) continue;
    const b = backend(i);
    total += <f64>(load<u64>(b + B_REQUESTS) - load<u64>(b + B_ADAPT_MARK));
    weights += <f64>backendWeight(i);
  }
  // a quiet period leaves the marks where they are, so that the next look sees more
  if (last == 0 || total < MIN_SAMPLE || weights == 0) {
    if (last == 0) for (let i: u32 = 0; i < n; i++) markRequests(backend(i));
    return;
  }
  const mean = total / weights;
  for (let i: u32 = 0; i < n; i++) {
    const b = backend(i);
    const delta = <f64>(load<u64>(b + B_REQUESTS) - load<u64>(b + B_ADAPT_MARK));
    markRequests(b);
    if (!backendUp(i)) continue;
    const ratio = delta / <f64>backendWeight(i) / mean;
    const bar = load<f64>(b + B_ADMIT);
    if (ratio > bound) {
      store<u32>(b + B_CALM, 0);
      if (bar > FLOOR) {
        store<f64>(b + B_ADMIT, Math.max(FLOOR, bar * WIDEN));
        statInc(S_ADMIT_WIDER);
      }
    } else if (ratio < 1.0) {
      const calm = load<u32>(b + B_CALM) + 1;
      if (calm >= CALM_ROUNDS && bar < 1.0) {
        store<f64>(b + B_ADMIT, Math.min(1.0, bar * NARROW));
        statInc(S_ADMIT_NARROWER);
        store<u32>(b + B_CALM, 0);
      } else {
        store<u32>(b + B_CALM, calm);
      }
    } else {
      store<u32>(b + B_CALM, 0);
    }
  }
}

@inline function markRequests(b: usize): void {
  store<u64>(b + B_ADAPT_MARK, load<u64>(b + B_REQUESTS));
}
