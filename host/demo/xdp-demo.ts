// The main job on the AF_XDP path: the same three memcached servers and Zipf load as the socket
// demo, in network namespaces: the load runs in a client namespace, kvlb is attached (XDP +
// AF_XDP) to both veths of the balancer's namespace, and memcached runs in a backend namespace.
import type { Logger } from "pino";
import { existsSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR } from "../testbed/netns.js";
import { projectRoot } from "../util/paths.js";
import type { StatsView } from "../control/stats-view.js";
import type { LoadResult } from "../load/udp-load.js";
import { count, percent } from "../util/table.js";
import type { Phase } from "../load/phase-report.js";
import { capBackends, releaseCaps } from "./demo-caps.js";
import { demoReport } from "./demo-summary.js";
import type { CpuCap } from "../testbed/cpu-cap.js";
import { demoCore, type ClusterDemoOptions } from "./demo-options.js";
import { detectorModulePaths, type DetectorModule } from "../core/loader.js";
import { swapsDuring } from "./demo-swaps.js";

type Print = (line: string) => void;

/** Why this machine cannot run the demo over XDP; undefined when it can try. */
export function xdpUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "XDP needs root";
  for (const f of ["build/xdp/kvlb.bpf.o", "host/libbpf-ts/build/Release/bpf_addon.node"]) {
    if (!existsSync(join(projectRoot(), f))) return `${f} is not built (run: bash scripts/setup)`;
  }
  return undefined;
}

const ADMIN = "127.0.0.1:9911";
const node = process.execPath;
const cli = join(projectRoot(), "dist/host/cli/main.js");

/** A command in the balancer's namespace, without blocking the event loop; its stdout. */
function inLb(topo: Topology, args: string[]): Promise<string> {
  const child = topo.spawn(topo.lb, args);
  let out = "";
  let err = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(err.trim().replace(/^kvlb: /, ""))))),
  );
}

function statsOf(topo: Topology): StatsView {
  return JSON.parse(topo.exec(topo.lb, [node, cli, "stats", "--json", "--admin", ADMIN])) as StatsView;
}

/** Runs kvlb load in the client namespace, echoing its progress lines; returns its result. */
function load(topo: Topology, args: string[], label: string, print: Print): Promise<LoadResult> {
  const child = topo.spawn(topo.client, [node, cli, "load", "--target", `${LB_ADDR}:11211`, "--json", ...args]);
  let out = "";
  child.stdout?.on("data", (d: Buffer) => {
    out += d.toString();
    for (const line of d.toString().split("\n")) if (line.startsWith("  ")) print(`  ${label}${line.trim()}`);
  });
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.once("exit", (code) => {
      const last = out.trim().split("\n").pop() ?? "";
      if (code !== 0 && !last.startsWith("{")) reject(new Error(`kvlb load: ${out.trim()}`));
      else resolve(JSON.parse(last) as LoadResult);
    }),
  );
}

// The socket demo's detector, as a config file for kvlb attach (JSON is YAML).
const detectorFile = join(tmpdir(), `kvlb-demo-${process.pid}.yaml`);

async function attached(topo: Topology, ports: readonly number[], cache: boolean): Promise<ChildProcess> {
  const backends = ports.flatMap((p) => ["--backend", `${BACKEND_ADDR}:${p}`]);
  const kvlb = topo.spawn(topo.lb, [
    node,
    cli,
    "attach",
    "l0,l1",
    "--config",
    detectorFile,
    ...backends,
    "--admin",
    ADMIN,
    "--cache",
    cache ? "on" : "off",
  ]);
  await waitForOutput(kvlb, /kvlb is attached and balancing/);
  return kvlb;
}

async function stop(topo: Topology, kvlb: ChildProcess): Promise<void> {
  const exited = new Promise((r) => kvlb.once("exit", r));
  topo.signalMatching(topo.lb, "attach", "SIGTERM");
  await exited;
}

async function phase(
  topo: Topology,
  ports: readonly number[],
  o: ClusterDemoOptions,
  cache: boolean,
  print: Print,
  afterPreload: () => void = () => undefined,
): Promise<Phase> {
  const kvlb = await attached(topo, ports, cache);
  try {
    const common = [
      "--keys",
      String(o.keys),
      "--zipf",
      String(o.zipf),
      "--sets",
      String(o.sets),
      "--value-bytes",
      String(o.valueBytes),
    ];
    if (!cache) {
      const started = performance.now();
      await load(topo, [...common, "--preload", "--seconds", "0.1"], "", () => undefined);
      print(
        `loaded ${count(o.keys)} keys of ${o.valueBytes} bytes through kvlb in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      afterPreload();
    }
    await new Promise((r) => setTimeout(r, 600)); // a fresh report: the baseline
    const before = statsOf(topo);
    const swap = async (m: DetectorModule): Promise<string> => {
      const out = await inLb(topo, [node, cli, "swap", detectorModulePaths[m], "--admin", ADMIN]);
      return out.trim();
    };
    const [result] = await Promise.all([
      load(topo, [...common, "--seconds", String(o.seconds / 2)], cache ? "cache on : " : "cache off: ", print),
      cache ? swapsDuring(o.seconds / 2, swap, print) : undefined,
    ]);
    await new Promise((r) => setTimeout(r, 600));
    const after = statsOf(topo);
    const keys = after.keysObserved - before.keysObserved;
    return {
      cache,
      load: result,
      requests: after.backends.map((b, i) => b.requests - (before.backends[i]?.requests ?? 0)),
      hitRatio: keys === 0 ? 0 : (after.datagrams.answeredFromCache - before.datagrams.answeredFromCache) / keys,
      hotKeys: [],
    };
  } finally {
    await stop(topo, kvlb);
  }
}

export async function runXdpDemo(o: ClusterDemoOptions, log: Logger, print: Print): Promise<boolean> {
  const ports = [o.basePort, o.basePort + 1, o.basePort + 2];
  const topo = new Topology(`demo-${process.pid}`);
  let caps: CpuCap[] = [];
  const cleanup = (): void => {
    releaseCaps(caps);
    topo.destroy();
  };
  process.once("SIGINT", cleanup);
  try {
    const { support, epsilon, warm } = demoCore;
    writeFileSync(detectorFile, JSON.stringify({ detector: { support, epsilon, warm } }));
    topo.create();
    for (const p of ports) {
      topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", String(p), "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
    }
    log.debug({ ports }, "memcached started in the backend namespace");
    print(
      `kvlb demo over XDP: clients in one network namespace, kvlb attached (XDP + AF_XDP) in the next, ` +
        `3 memcached servers on UDP ${BACKEND_ADDR}:${ports[0]}-${ports[2]} in a third`,
    );
    print(
      `Zipf(${o.zipf}) over ${count(o.keys)} keys, ${percent(o.sets)} sets; ${o.seconds / 2} s with the cache off, then on`,
    );
    const capped = (): void => {
      caps = capBackends(topo.pidsMatching(topo.backends, "memcached"), o.cap, print);
    };
    const off = await phase(topo, ports, o, false, print, capped);
    const on = await phase(topo, ports, o, true, print);
    print("");
    return await demoReport(ports, BACKEND_ADDR, off, on, caps.length > 0 ? o.cap : 0, o.chart, print);
  } finally {
    releaseCaps(caps);
    process.removeListener("SIGINT", cleanup);
    topo.destroy();
    rmSync(detectorFile, { force: true });
  }
}
