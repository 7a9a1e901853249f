// Swapping the detector module of a running kvlb under a steady load: lossy -> Space-Saving ->
// Count-Min -> lossy, ten times over, on the socket path and over AF_XDP. Every request is
// answered, the cache keeps answering between swaps, and the stats go on. A refused module
// leaves the old one serving, and a module that traps in a burst gives way to the one before.
import test, { type ExecutionContext } from "ava";
import { spawnSync, execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { startCluster, type Cluster } from "../support/cluster.js";
import { preloadSteadyKeys, startSteadyLoad, type SteadyLoadResult } from "../support/steady-load.js";
import { faultModule } from "../support/fault-modules.js";
import { detectorModules } from "../support/core.js";
import { UdpClient } from "../support/udp-client.js";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR } from "../../host/testbed/netns.js";
import type { ModuleStatus } from "../../host/control/modules.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { portBase } from "../support/ports.js";
import { until } from "../support/until.js";

const node = process.execPath;
const cli = "dist/host/cli/main.js";
const ROUNDS = 10;
const execFileAsync = promisify(execFile);
const CHAIN = [detectorModules["space-saving"], detectorModules["count-min"], detectorModules.lossy];

interface Swapper {
  swap(file: string): Promise<void>;
  stats(): Promise<StatsView>;
}

/** Runs the chain ROUNDS times; after each swap, the cache must have answered since the last. */
async function swapUnderLoad(t: ExecutionContext, s: Swapper): Promise<void> {
  let before = await s.stats();
  for (let round = 0; round < ROUNDS; round++) {
    for (const file of CHAIN) {
      await s.swap(file);
      let after = await s.stats();
      // the load keeps running: the cache must answer again soon after the swap
      await until("the cache answers after the swap", async () => {
        after = await s.stats();
        return after.datagrams.answeredFromCache > before.datagrams.answeredFromCache;
      }).catch(() => undefined);
      t.true(
        after.datagrams.answeredFromCache > before.datagrams.answeredFromCache,
        `round ${round}, ${file}: the cache went on answering (${before.datagrams.answeredFromCache} -> ${after.datagrams.answeredFromCache}, from clients ${before.datagrams.fromClients} -> ${after.datagrams.fromClients})`,
      );
      t.true(after.keysObserved > before.keysObserved, "the stats go on");
      before = after;
    }
  }
}

function checkLoad(t: ExecutionContext, r: SteadyLoadResult): void {
  t.true(r.sent > 500, `${r.sent} requests sent`);
  t.is(r.lost, 0, `${r.lost} of ${r.sent} requests went unanswered: ${r.wrong.join("; ")}`);
  t.is(r.answered, r.sent);
}

function checkModules(t: ExecutionContext, m: ModuleStatus, swaps: number): void {
  t.is(m.current.name, "lossy");
  for (const w of m.workers) {
    t.is(w.info.name, "lossy");
    t.is(w.swaps, swaps);
    t.regex(w.info.sha256, /^[0-9a-f]{64}$/);
    t.truthy(w.swappedAt);
  }
}

let cluster: Cluster | undefined;
test.after.always(async () => {
  await cluster?.stop();
});

test.serial("socket path: 30 swaps under a steady load, no request lost, the cache at work throughout", async (t) => {
  // built first (asc takes seconds the first time): a pause that long between two fetches would
  // let the admin server close the keep-alive connection the second one reuses
  const faulty = faultModule("process");
  cluster = await startCluster(portBase("module-swap"), 2, ["--module", detectorModules["count-min"]]);
  const c = cluster;
  const admin = `127.0.0.1:${c.adminPort}`;
  const started = (await (await fetch(`http://${admin}/module`)).json()) as ModuleStatus;
  t.deepEqual(
    started.workers.map((w) => [w.info.name, w.swaps]),
    [["count-min", 0]],
    "kvlb run --module chose the detector it started with",
  );
  await preloadSteadyKeys(c.kvlbPort, "127.0.0.1");
  const load = startSteadyLoad(c.kvlbPort, "127.0.0.1");
  // the load shares this process: the CLI runs beside it, never blocking its event loop
  const run = async (args: string[]): Promise<string> =>
    (await execFileAsync(node, [cli, ...args, "--admin", admin])).stdout;
  try {
    t.regex(await run(["swap", CHAIN[2] ?? ""]), /^swapped to lossy v1 .* on 1 worker; pause \d+ µs/);
    await swapUnderLoad(t, {
      swap: async (file) => {
        const r = await fetch(`http://${admin}/module`, { method: "POST", body: readFileSync(file) });
        t.is(r.status, 200, await r.text());
      },
      stats: async () => (await (await fetch(`http://${admin}/stats`)).json()) as StatsView,
    });
  } finally {
    load.stop();
  }
  checkLoad(t, await load.done);
  checkModules(t, JSON.parse(await run(["swap", "--show", "--json"])) as ModuleStatus, 3 * ROUNDS + 1);

  // refused: the old module goes on serving
  const refused = spawnSync(node, [cli, "swap", "README.md", "--admin", admin], { encoding: "utf8" });
  t.is(refused.status, 2);
  t.regex(refused.stderr, /^kvlb: README.md: not a WebAssembly module/);
  // a module that traps in a burst: that burst runs again on the module before, and is answered
  const client = new UdpClient(c.kvlbPort);
  const r = await fetch(`http://${admin}/module?name=trap`, { method: "POST", body: Buffer.from(faulty) }).catch(
    (e: Error) => {
      throw new Error(`POST /module: ${e.message} (${String(e.cause)}); kvlb said: ${c.output()}`);
    },
  );
  t.is(r.status, 200);
  t.is(await client.text("get steady-1\r\n"), "VALUE steady-1 0 5\r\nvalue\r\nEND\r\n");
  t.is(await client.text("get kvlb-trap\r\n"), "END\r\n", "the trapped burst, run again, is answered");
  t.is(await client.text("get steady-2\r\n"), "VALUE steady-2 0 5\r\nvalue\r\nEND\r\n");
  client.close();
  const after = JSON.parse(await run(["swap", "--show", "--json"])) as ModuleStatus;
  t.is(after.workers[0]?.traps, 1);
  t.is(after.workers[0]?.info.name, "lossy", "back on the module before");
  const metrics = await (await fetch(`http://${admin}/metrics`)).text();
  t.regex(metrics, /kvlb_core_events_total\{counter="module_traps"\} 1/);
});

const topo = new Topology(`s${process.pid}`);
test.after.always(() => topo.destroy());

test.serial("AF_XDP: 30 swaps under a steady load from the client namespace, no request lost", async (t) => {
  topo.create();
  topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", "11211", "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
  const ADMIN = "127.0.0.1:9913";
  const kvlb = topo.spawn(topo.lb, [
    node,
    cli,
    "attach",
    "l0,l1",
    "--backend",
    `${BACKEND_ADDR}:11211`,
    "--admin",
    ADMIN,
  ]);
  await waitForOutput(kvlb, /kvlb is attached and balancing/);
  const inLb = (args: string[]): string => topo.exec(topo.lb, [node, cli, ...args, "--admin", ADMIN]);
  const load = topo.spawn(topo.client, [node, "--import=tsx", "test/support/ns-steady-load.ts", LB_ADDR, "11211"]);
  let out = "";
  load.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  const finished = new Promise((r) => load.once("exit", r));
  try {
    await waitForOutput(load, /loading/);
    const curl = (args: string[]): string => topo.exec(topo.lb, ["curl", "-sf", ...args]);
    await swapUnderLoad(t, {
      swap: (file) => {
        t.regex(curl(["-X", "POST", "--data-binary", `@${file}`, `http://${ADMIN}/module`]), /"workers": 1/);
        return Promise.resolve();
      },
      stats: () => Promise.resolve(JSON.parse(curl([`http://${ADMIN}/stats`])) as StatsView),
    });
    topo.signalMatching(topo.client, "ns-steady-load", "SIGTERM");
    await finished;
    checkLoad(t, JSON.parse(out.trim().split("\n").pop() ?? "{}") as SteadyLoadResult);
    checkModules(t, JSON.parse(inLb(["swap", "--show", "--json"])) as ModuleStatus, 3 * ROUNDS);
    const s = JSON.parse(inLb(["stats", "--json"])) as StatsView;
    t.true((s.frames?.received ?? 0) > 1000, "the load came as frames, over AF_XDP");
  } finally {
    const exited = new Promise((r) => kvlb.once("exit", r));
    topo.signalMatching(topo.lb, "attach", "SIGTERM");
    await exited;
  }
});

test("kvlb run --module with a file that is not a core module: one line, exit 2, nothing started", (t) => {
  const r = spawnSync(node, [cli, "run", "--backend", "127.0.0.1:1", "--admin", "off", "--module", "README.md"], {
    encoding: "utf8",
  });
  t.is(r.status, 2);
  t.regex(r.stderr, /^kvlb: --module: README.md: not a WebAssembly module/);
  t.is(r.stderr.trim().split("\n").length, 1);
});
