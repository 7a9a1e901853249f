// kvlb demo and kvlb detect-demo: their options, and running them.
import { parseArgs } from "node:util";
import type { Logger } from "pino";
import { runClusterDemo } from "../demo/cluster-demo.js";
import { clusterDemoDefaults, type ClusterDemoOptions } from "../demo/demo-options.js";
import { runStreamDemo, streamDemoDefaults, type StreamDemoOptions } from "../demo/stream-demo.js";
import { numberFlag as number, whole } from "./flags.js";
import { UsageError } from "../errors.js";

export const demoUsage = `options:
  --seconds N     load time, split between cache off and on (default ${clusterDemoDefaults.seconds})
  --keys N        distinct keys (default ${clusterDemoDefaults.keys})
  --zipf θ        Zipf skew (default ${clusterDemoDefaults.zipf})
  --port N        memcached UDP ports N..N+2 (default ${clusterDemoDefaults.basePort})
  --datapath D    afxdp (network namespaces, XDP), socket (loopback) or auto: XDP as root (default auto)
  --cap PERCENT   each memcached's share of a CPU, so the hot one saturates; 0: uncapped (default ${clusterDemoDefaults.cap})
  --chart FILE    where the SVG chart goes (default ${clusterDemoDefaults.chart})
`;

export const detectDemoUsage = `options:
  --keys N        keys to stream (default ${streamDemoDefaults.keys})
  --distinct N    distinct keys (default ${streamDemoDefaults.distinct})
  --zipf θ        Zipf skew (default ${streamDemoDefaults.zipf})
  --support s     lossy counting support (default ${streamDemoDefaults.support})
  --epsilon ε     lossy counting error (default ${streamDemoDefaults.epsilon})
  --top N         hot keys to list (default ${streamDemoDefaults.top})
`;

const print = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

function clusterDemoOptions(args: string[]): ClusterDemoOptions {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string" },
      keys: { type: "string" },
      zipf: { type: "string" },
      port: { type: "string" },
      datapath: { type: "string" },
      cap: { type: "string" },
      chart: { type: "string" },
    },
    strict: true,
  });
  const d = clusterDemoDefaults;
  const datapath = values.datapath ?? d.datapath;
  if (datapath !== "auto" && datapath !== "afxdp" && datapath !== "socket") {
    throw new UsageError(`--datapath ${datapath}: auto, afxdp or socket`);
  }
  return {
    ...d,
    seconds: number("seconds", values.seconds, d.seconds, (n) => n >= 2 && n <= 3600),
    keys: number("keys", values.keys, d.keys, whole),
    zipf: number("zipf", values.zipf, d.zipf, (n) => n >= 0 && n <= 5),
    basePort: number("port", values.port, d.basePort, (n) => Number.isInteger(n) && n >= 1024 && n <= 65533),
    datapath,
    cap: number("cap", values.cap, d.cap, (n) => n === 0 || (n >= 2 && n <= 100)),
    chart: values.chart ?? d.chart,
  };
}

function detectDemoOptions(args: string[]): StreamDemoOptions {
  const { values } = parseArgs({
    args,
    options: {
      keys: { type: "string" },
      distinct: { type: "string" },
      zipf: { type: "string" },
      support: { type: "string" },
      epsilon: { type: "string" },
      top: { type: "string" },
    },
    strict: true,
  });
  const d = streamDemoDefaults;
  const o: StreamDemoOptions = {
    keys: number("keys", values.keys, d.keys, whole),
    distinct: number("distinct", values.distinct, d.distinct, whole),
    zipf: number("zipf", values.zipf, d.zipf, (n) => n >= 0 && n <= 5),
    support: number("support", values.support, d.support, (n) => n > 0 && n <= 1),
    epsilon: number("epsilon", values.epsilon, d.epsilon, (n) => n > 0 && n < 1),
    top: number("top", values.top, d.top, whole),
  };
  if (o.support <= o.epsilon) throw new UsageError(`--support ${o.support} must be above --epsilon ${o.epsilon}`);
  return o;
}

export async function demoCommand(args: string[], log: Logger): Promise<number> {
  return (await runClusterDemo(clusterDemoOptions(args), log, print)) ? 0 : 1;
}

export async function detectDemoCommand(args: string[], log: Logger): Promise<number> {
  return (await runStreamDemo(detectDemoOptions(args), log, print)) ? 0 : 1;
}
