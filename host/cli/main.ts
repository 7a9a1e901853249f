// kvlb's command line. Operator mistakes get one line on stderr and exit code 2.
import { parseArgs } from "node:util";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../log.js";
import { projectRoot } from "../util/paths.js";
import { runStreamDemo, streamDemoDefaults, type StreamDemoOptions } from "../demo/stream-demo.js";
import { runCommand, runUsage } from "./run.js";
import { numberFlag as number, whole } from "./flags.js";
import { runClusterDemo } from "../demo/cluster-demo.js";
import { clusterDemoDefaults, type ClusterDemoOptions } from "../demo/demo-options.js";
import { statsCommand, statsUsage } from "./stats.js";
import { topCommand } from "./top.js";
import { loadCommand, loadUsage } from "./load.js";
import { UsageError, errorCode, exitStatus } from "../errors.js";
import { LibbpfError } from "libbpf-ts";
import { attachCommand, attachUsage } from "./attach.js";
import { statusCommand, detachCommand, statusUsage } from "./xdp-status.js";
import { swapCommand, swapUsage } from "./swap.js";
import { flushCommand, flushUsage } from "./flush.js";

const usage = `kvlb: a memcached load balancer with hot-key detection and caching in a WebAssembly core

Usage:
  kvlb run [options]      balance memcached UDP traffic over --backend servers
  kvlb attach <iface>[,<iface>...] [options]
                          the same, on AF_XDP: kvlb's XDP program steers memcached UDP to it
  kvlb detach <iface>     remove kvlb's XDP program (kvlb attach does this itself on exit)
  kvlb status [options]   the XDP program, its mode and its counters on each interface
  kvlb stats [options]    a running kvlb's counters, for a person
  kvlb top [options]      a live view of a running kvlb: per-backend load and hot keys
  kvlb load [options]     drive a Zipf memcached UDP load at kvlb (or any memcached)
  kvlb swap FILE.wasm     swap a running kvlb's detector module (--rollback: the one before)
  kvlb flush [options]    empty a running kvlb's caches (its backends keep their items)
  kvlb demo [options]     3 memcached servers, kvlb in front, a Zipf load with the cache off then on
  kvlb detect-demo [options]  stream Zipf keys through the core alone and show the hot keys found
  kvlb --help             this text
  kvlb --version          the version

demo options:
  --seconds N     load time, split between cache off and on (default ${clusterDemoDefaults.seconds})
  --keys N        distinct keys (default ${clusterDemoDefaults.keys})
  --zipf θ        Zipf skew (default ${clusterDemoDefaults.zipf})
  --port N        memcached UDP ports N..N+2 (default ${clusterDemoDefaults.basePort})
  --datapath D    afxdp (network namespaces, XDP), socket (loopback) or auto: XDP as root (default auto)

detect-demo options:
  --keys N        keys to stream (default ${streamDemoDefaults.keys})
  --distinct N    distinct keys (default ${streamDemoDefaults.distinct})
  --zipf θ        Zipf skew (default ${streamDemoDefaults.zipf})
  --support s     lossy counting support (default ${streamDemoDefaults.support})
  --epsilon ε     lossy counting error (default ${streamDemoDefaults.epsilon})
  --top N         hot keys to list (default ${streamDemoDefaults.top})

${runUsage}
${attachUsage}
${statusUsage}
${statsUsage}
${loadUsage}
${swapUsage}
${flushUsage}`;

function clusterDemoOptions(args: string[]): ClusterDemoOptions {
  const { values } = parseArgs({
    args,
    options: {
      seconds: { type: "string" },
      keys: { type: "string" },
      zipf: { type: "string" },
      port: { type: "string" },
      datapath: { type: "string" },
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

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(usage);
    return 0;
  }
  if (command === "--version") {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string };
    process.stdout.write(`kvlb ${pkg.version}\n`);
    return 0;
  }
  if (command === "run") return runCommand(rest, createLogger());
  if (command === "attach") return attachCommand(rest, createLogger());
  if (command === "detach") return detachCommand(rest);
  if (command === "status") return statusCommand(rest);
  if (command === "stats") return statsCommand(rest);
  if (command === "top") return topCommand(rest);
  if (command === "load") return loadCommand(rest);
  if (command === "swap") return swapCommand(rest);
  if (command === "flush") return flushCommand(rest);
  if (command === "demo") {
    const ok = await runClusterDemo(clusterDemoOptions(rest), createLogger(), (line) =>
      process.stdout.write(`${line}\n`),
    );
    return ok ? 0 : 1;
  }
  if (command === "detect-demo") {
    const options = detectDemoOptions(rest);
    const ok = await runStreamDemo(options, createLogger(), (line) => process.stdout.write(`${line}\n`));
    return ok ? 0 : 1;
  }
  throw new UsageError(`unknown command '${command}' (see kvlb --help)`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    const status = exitStatus(e);
    // node's own argument errors name no command; point at the help
    const hint = status === 2 && errorCode(e) === undefined && !(e instanceof LibbpfError);
    process.stderr.write(`kvlb: ${message}${hint ? " (see kvlb --help)" : ""}\n`);
    if (status === 1 && process.env["KVLB_DEBUG"]) process.stderr.write(`${(e as Error).stack ?? ""}\n`);
    process.exit(status);
  },
);
