// The control plane's health rules against workers whose report lags its own decisions: a count
// of requests that timed out in a row, made before the workers heard that a backend came back
// up, must not mark it down again.
import test from "ava";
import { BackendHealth } from "../../host/control/health.js";
import type { Balancer } from "../../host/balancer/balancer.js";
import type { StatsReport, ProbeAnswer, ToWorker } from "../../host/worker/messages.js";
import { defaultHealth } from "../../host/config/health-options.js";
import { until } from "../support/until.js";

/** A balancer whose workers never report again after saying 5 requests in a row timed out, and
 * whose core answers every probe. */
function laggingBalancer(): { balancer: Balancer; sent: boolean[]; rounds: () => number } {
  const sent: boolean[] = [];
  const answer: ((a: ProbeAnswer) => void)[] = [];
  let rounds = 0;
  const stale: StatsReport = {
    type: "stats",
    stats: {},
    backends: [{ requests: 5, replies: 0, timeouts: 5, outstanding: 0, fails: 5, changes: 0 }],
    natUsed: 0,
    natEntries: 8192,
    l1Count: 0,
    l1Bytes: 0,
    l2Count: 0,
    observed: 0,
    hotKeys: [],
  };
  const balancer = {
    latest: () => {
      rounds++;
      return stale;
    },
    // every probe is answered, as a core's would be by a live memcached
    onProbeAnswer: (l: (a: ProbeAnswer) => void) => answer.push(l),
    send: (m: ToWorker) => {
      if (m.type === "backend-state") sent.push(m.up);
      if (m.type === "probe") {
        const a: ProbeAnswer = { type: "probe-answer", backend: m.backend, pid: 1, uptime: 10, cmdFlush: 0 };
        setImmediate(() => answer.forEach((l) => l(a)));
      }
    },
  } as unknown as Balancer;
  return { balancer, sent, rounds: () => rounds };
}

test("a backend back up is not marked down again by a report made before the workers heard it was up", async (t) => {
  const { balancer, sent, rounds } = laggingBalancer();
  const health = new BackendHealth(
    balancer,
    [{ host: "127.0.0.1", address: "127.0.0.1", port: 1, weight: 1 }],
    { ...defaultHealth, intervalMs: 10, probeTimeoutMs: 20, probeFailures: 2 },
    undefined,
    "core",
  );
  await health.start();
  try {
    await until("the backend to be marked down, then up", async () => sent.length >= 2, 5000);
    const after = rounds();
    await until("20 more health rounds", async () => rounds() >= after + 20, 5000);
    t.deepEqual(sent, [false, true], "down once on the workers' count, then up, and no flapping");
    t.is(health.view()[0]?.state, "up");
  } finally {
    health.stop();
  }
});
