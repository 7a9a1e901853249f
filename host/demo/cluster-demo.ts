// The main job: three real memcached servers, kvlb in front of them, and a Zipf load through
// kvlb, first with its cache off and then on, to show what the cache does to per-backend load.
// While the cache is on, kvlb's hot-key detector is swapped three times mid-load (demo-swaps.ts).
import type { Logger } from "pino";
import { readFile } from "node:fs/promises";
import type { Balancer } from "../balancer/balancer.js";
import { ModuleControl } from "../control/modules.js";
import { detectorModulePaths, type DetectorModule } from "../core/loader.js";
import { reportText } from "../control/swap-text.js";
import { swapsDuring } from "./demo-swaps.js";
import { startMemcached } from "../testbed/memcached.js";
import { makeKeys } from "../load/zipf.js";
import { balancedPhase, cacheOff, preload, withBalancer } from "../load/phases.js";
import { count, percent } from "../util/table.js";
import type { Phase } from "../load/phase-report.js";
import { progressPrinter, progressDone } from "../load/progress.js";
import { runXdpDemo, xdpUnavailable } from "./xdp-demo.js";
import { demoCore, type ClusterDemoOptions } from "./demo-options.js";
import { ConfigError } from "../errors.js";
import { capBackends, releaseCaps } from "./demo-caps.js";
import { demoReport } from "./demo-summary.js";
import type { CpuCap } from "../testbed/cpu-cap.js";

type Print = (line: string) => void;

async function phase(
  ports: readonly number[],
  o: ClusterDemoOptions,
  keys: readonly string[],
  cache: boolean,
  print: Print,
): Promise<Phase> {
  const label = cache ? "cache on " : "cache off";
  const seconds = o.seconds / 2;
  const swaps = async (b: Balancer): Promise<void> => {
    const modules = new ModuleControl(b);
    const swap = async (m: DetectorModule): Promise<string> =>
      reportText(await modules.swap(new Uint8Array(await readFile(detectorModulePaths[m])), m));
    await swapsDuring(seconds, swap, print);
  };
  const p = await balancedPhase(
    ports,
    cache ? demoCore : cacheOff(demoCore),
    {
      keys,
      zipf: o.zipf,
      seconds,
      sets: o.sets,
      valueBytes: o.valueBytes,
      seed: cache ? 2 : 1,
      progress: progressPrinter(`${label}: `, seconds),
    },
    cache ? swaps : undefined,
  );
  progressDone();
  return p;
}

export async function runClusterDemo(o: ClusterDemoOptions, log: Logger, print: Print): Promise<boolean> {
  if (o.datapath !== "socket") {
    const why = xdpUnavailable();
    if (why && o.datapath === "afxdp") throw new ConfigError(`demo over XDP: ${why}`);
    if (!why) {
      try {
        return await runXdpDemo(o, log, print);
      } catch (e) {
        if (o.datapath === "afxdp") throw e;
        print(
          `kvlb demo: over XDP it failed (${(e as Error).message.split("\n")[0]}); falling back to the socket path`,
        );
      }
    } else {
      print(`kvlb demo: on the socket path, since ${why} (the XDP demo runs as root)`);
    }
  }
  return runSocketDemo(o, log, print);
}

async function runSocketDemo(o: ClusterDemoOptions, log: Logger, print: Print): Promise<boolean> {
  const ports = [o.basePort, o.basePort + 1, o.basePort + 2];
  const servers = await startMemcached(ports);
  let caps: CpuCap[] = [];
  log.debug({ ports }, "memcached started");
  try {
    print(
      `kvlb demo: 3 memcached servers on UDP 127.0.0.1:${ports[0]}-${ports[2]}, kvlb in front, ` +
        `Zipf(${o.zipf}) over ${count(o.keys)} keys, ${percent(o.sets)} sets`,
    );
    print(
      `detector: support ${demoCore.support}, epsilon ${demoCore.epsilon}; ${o.seconds / 2} s with the cache off, then on`,
    );
    const keys = makeKeys(o.keys, 16, 40, 7);
    const started = performance.now();
    await withBalancer(ports, cacheOff(demoCore), (_b, at) => preload(at, keys, o.valueBytes));
    const took = ((performance.now() - started) / 1000).toFixed(1);
    print(`loaded ${count(keys.length)} keys of ${o.valueBytes} bytes through kvlb in ${took} s`);
    caps = capBackends(
      servers.processes.map((p) => p.pid ?? 0),
      o.cap,
      print,
    );
    const off = await phase(ports, o, keys, false, print);
    const on = await phase(ports, o, keys, true, print);
    print("");
    return await demoReport(ports, "127.0.0.1", off, on, caps.length > 0 ? o.cap : 0, o.chart, print);
  } finally {
    releaseCaps(caps);
    await servers.stop();
  }
}
