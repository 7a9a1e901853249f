// The oracle is a model of memcached's clock, written from memcached.c (clock_handler): a timer
// re-armed for 1 s each time it fires (so each period runs a little long, by however late the
// event loop was), and at each firing current_time = floor(CLOCK_MONOTONIC s) - monotonic_start.
// An item with exptime E is gone from the first firing whose current_time reaches E, and
// `mg … t` reports E - current_time. kvlb must stop serving a copy before that moment, whatever
// the timer's phase, its lateness and when in the second the ask left.
import test from "ava";
import { makeCore } from "../support/core.js";

const NS = 1_000_000_000;

interface Clock {
  /** Firing times, seconds of CLOCK_MONOTONIC. */
  fires: number[];
}

function memcachedClock(phase: number, lateness: number, seconds: number): Clock {
  const fires: number[] = [];
  for (let f = phase; f < seconds; f += 1 + lateness) fires.push(f);
  return { fires };
}

/** current_time at real time x (monotonic_start = 0). */
function currentTime(c: Clock, x: number): number {
  let cur = -1;
  for (const f of c.fires) {
    if (f > x) break;
    cur = Math.floor(f);
  }
  return cur;
}

/** The first moment at which an item with exptime `e` reads as expired. */
function goneAt(c: Clock, e: number): number {
  for (const f of c.fires) if (Math.floor(f) >= e) return f;
  return Infinity;
}

test("a copy filled from mg's t is never served past the moment memcached's clock drops the item", async (t) => {
  const core = await makeCore({});
  let checked = 0;
  let cached = 0;
  for (const lateness of [0, 0.0005, 0.01, 0.2]) {
    for (let phase = 0.005; phase < 1; phase += 0.07) {
      const clock = memcachedClock(phase, lateness, 60);
      for (let sent = 5.003; sent < 8; sent += 0.037) {
        const cur = currentTime(clock, sent);
        for (let ttl = 1; ttl <= 8; ttl++) {
          const e = cur + ttl; // the item as memcached holds it when the mg arrives
          const until = core.expiryAfter(BigInt(Math.round(sent * NS)), BigInt(ttl));
          checked++;
          if (until === 0n) continue;
          cached++;
          const gone = Math.round(goneAt(clock, e) * NS);
          if (until > BigInt(gone)) {
            t.fail(
              `ttl ${ttl}, timer phase ${phase.toFixed(3)} late ${lateness}, sent ${sent.toFixed(3)}: served until ${Number(until) / NS}, gone at ${gone / NS}`,
            );
            return;
          }
        }
      }
    }
  }
  t.true(cached > checked / 2, `most TTLs are still cached (${cached} of ${checked})`);
});

test("no expiry (t = -1) is served until a write; an absolute or negative t is not cached", async (t) => {
  const core = await makeCore({});
  t.is(core.expiryAfter(5n * BigInt(NS), -1n), 0xffffffffffffffffn);
  t.is(core.expiryAfter(5n * BigInt(NS), 60n * 60n * 24n * 30n + 1n), 0n);
  t.is(core.expiryAfter(5n * BigInt(NS), -2n), 0n);
});
