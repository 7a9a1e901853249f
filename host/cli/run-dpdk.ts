// kvlb run --datapath dpdk: the EAL and the ports in the main thread, a worker on each queue,
// kvlb's XDP program (loaded by DPDK's af_xdp driver) configured with the port and backends,
// next hops from the kernel for ports that have a kernel interface behind them.
import type { Logger } from "pino";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { AttachedProgram, be16, u8, bytes } from "libbpf-ts";
import { startBalancer, type Balancer } from "../balancer/balancer.js";
import { ConfigError } from "../config/endpoints.js";
import type { RunConfig } from "../config/run-config.js";
import type { Backend } from "../core/backends.js";
import { dpdk, type PortInfo } from "../datapath/dpdk/native.js";
import { parsePort, ealArgs, startEal, dpdkComplaint, type PortSpec } from "../datapath/dpdk/eal.js";
import { interfaceInfo } from "../datapath/afxdp/interfaces.js";
import { requireRoot, xdpObjectPath } from "../datapath/afxdp/steering.js";
import { nextHops } from "../datapath/afxdp/next-hops.js";
import { startAdminFor, followNextHops, endpointsLine, serveUntilStopped } from "./serving.js";
import { endpointKey, ENDPOINT_BYTES, PORT_V4 } from "../xdp/layout.js";

export interface DpdkOptions {
  args: string;
  ports: string[];
  queues: number;
}

const DPDK_RUNTIME_DIR = "/var/run/dpdk"; // root's; kvlb runs DPDK as root only

function openPort(spec: PortSpec, queues: number): PortInfo {
  try {
    return dpdk().portOpen(spec.name, { queues });
  } catch (e) {
    const err = e as { message: string; errno?: number; log?: string };
    const why = dpdkComplaint(err.log);
    const said = why ? ` (${why})` : "";
    if (err.errno === 19) {
      const hint = spec.virtual ? "" : `; is ${spec.name} bound to vfio-pci? (dpdk-devbind.py --status)`;
      throw new ConfigError(`--port ${spec.devargs}: DPDK did not create this port${said}${hint}`);
    }
    if (err.errno === 12) {
      throw new ConfigError(
        `--port ${spec.devargs}: DPDK has too little memory for the port's mbufs; give it more (--dpdk-args="--no-huge -m 512") or reserve hugepages`,
      );
    }
    throw new ConfigError(`--port ${spec.devargs}: ${err.message}${said}`);
  }
}

/** kvlb's program as DPDK's af_xdp driver attached it: told the memcached port and the backends. */
function steer(iface: string, listenPort: number, backends: readonly Backend[]): AttachedProgram {
  const prog = AttachedProgram.of(iface);
  prog.map("ports").typed(be16, u8).set(listenPort, PORT_V4);
  const b = prog.map("backends").typed(bytes(ENDPOINT_BYTES), u8);
  for (const x of backends) b.set(endpointKey(x.address, x.port), 1);
  return prog;
}

export async function runDpdk(
  config: RunConfig,
  backends: Backend[],
  options: DpdkOptions,
  log: Logger,
): Promise<number> {
  requireRoot("the DPDK data path with");
  if (options.ports.length === 0) {
    throw new ConfigError("--datapath dpdk: give at least one --port, as in --port net_af_xdp0,iface=eth0");
  }
  if (options.queues !== 1) {
    throw new ConfigError(`--queues ${options.queues}: this kvlb runs one DPDK worker; use --queues 1`);
  }
  if (backends.length === 0) throw new ConfigError("no backends: give --backend HOST:PORT (or backends: in --config)");
  const specs = options.ports.map((p) => parsePort(p, xdpObjectPath()));
  const ifaces = specs.map((s) => (s.iface ? interfaceInfo(s.iface) : undefined)); // "eth9: no such interface"
  const native = dpdk();
  const operatorArgs = options.args.split(/\s+/).filter(Boolean);
  const prefix = `kvlb-${process.pid}`;
  const ownPrefix = !operatorArgs.includes("--file-prefix");
  const removeRuntime = (): void => {
    // the EAL leaves its runtime files behind; a prefix of kvlb's own is kvlb's to remove
    if (ownPrefix) rmSync(join(DPDK_RUNTIME_DIR, prefix), { recursive: true, force: true });
  };
  try {
    startEal(ealArgs(specs, operatorArgs, prefix));
  } catch (e) {
    removeRuntime();
    throw e;
  }
  const opened: PortInfo[] = [];
  const programs: AttachedProgram[] = [];
  let balancer: Balancer | undefined;
  let stopRefresh: (() => void) | undefined;
  try {
    for (const spec of specs) opened.push(openPort(spec, options.queues));
    for (const spec of specs) {
      if (spec.iface && spec.name.startsWith("net_af_xdp")) {
        programs.push(steer(spec.iface, config.listen.port, backends));
      }
    }
    const ports = specs.map((s, i) => ({
      name: s.name,
      queue: 0,
      ifindex: ifaces[i]?.ifindex ?? 0,
      mac: [...(opened[i]?.mac ?? [])].map((b) => b.toString(16).padStart(2, "0")).join(":"),
      address: ifaces[i]?.address ?? config.listen.address,
      dpdkPort: opened[i]?.port ?? 0,
    }));
    const devs = specs.map((s) => s.iface ?? "");
    const hops = nextHops(
      devs,
      backends.map((b) => b.address),
    );
    balancer = await startBalancer({
      core: config.core,
      backends,
      listen: config.listen,
      backendBind: "0.0.0.0",
      dpdk: { ports, queue: 0, neighbours: hops },
    });
    const b = balancer;
    stopRefresh = followNextHops(b, devs, backends, hops, log);
    const status = (): unknown => ({
      ports: specs.map((s, i) => ({
        devargs: s.devargs,
        driver: opened[i]?.driver,
        stats: native.portStats(opened[i]?.port ?? 0),
        queues: b.latest()?.xsk,
      })),
    });
    const server = await startAdminFor(b, config, status);
    log.debug({ dpdk: native.takeLog() }, "DPDK's log");
    log.info(
      { ports: specs.map((s, i) => `${s.name} (${opened[i]?.driver ?? "?"})`), ...endpointsLine(config, backends) },
      "kvlb is balancing over DPDK",
    );
    return await serveUntilStopped(b, server, log);
  } finally {
    stopRefresh?.();
    await balancer?.stop();
    for (const p of programs) p.close();
    for (const p of opened) native.portClose(p.port);
    native.ealCleanup();
    removeRuntime();
  }
}
