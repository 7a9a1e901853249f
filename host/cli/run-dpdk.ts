// kvlb run --datapath dpdk: the EAL and the ports in the main thread, a worker on each queue,
// kvlb's XDP program (loaded by DPDK's af_xdp driver) configured with the port and backends,
// next hops from the kernel for ports that have a kernel interface behind them, and from the
// core's own ARP for ports that have none.
import type { Logger } from "pino";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { AttachedProgram } from "libbpf-ts";
import type { Balancer } from "../balancer/balancer.js";
import { startWorkers } from "../balancer/worker-group.js";
import { createPeerRings } from "../worker/peer-link.js";
import { clientGuard } from "../config/clients.js";
import type { FrameMode } from "../core/frame-tables.js";
import { ConfigError } from "../errors.js";
import type { RunConfig } from "../config/run-config.js";
import type { Backend } from "../core/backends.js";
import { dpdk, type PortInfo } from "../datapath/dpdk/native.js";
import { parsePort, ealArgs, startEal, dpdkComplaint, type PortSpec } from "../datapath/dpdk/eal.js";
import { interfaceInfo, type InterfaceInfo } from "../datapath/afxdp/interfaces.js";
import { requireRoot, xdpObjectPath } from "../datapath/afxdp/steering.js";
import { nextHops } from "../datapath/afxdp/next-hops.js";
import { startControlPlane, followNextHops, endpointsLine, serveUntilStopped } from "./serving.js";
import { configureSteering, setReplyPort } from "../xdp/steering-maps.js";

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
      const hint = !spec.virtual
        ? `; is ${spec.name} bound to vfio-pci? (dpdk-devbind.py --status)`
        : spec.kind === "af_xdp" && queues > 1
          ? `; net_af_xdp needs ${queues} combined channels (ethtool -L ${spec.iface ?? "IFACE"} combined ${queues}), and a veth has none: use net_af_packet for several queues there`
          : "";
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

/**
 * kvlb's program as DPDK's af_xdp driver attached it: told the memcached port, and the backends
 * when their replies should come as frames (otherwise they pass to the kernel's sockets).
 */
function steer(iface: string, listenPort: number, backends: readonly Backend[]): AttachedProgram {
  const prog = AttachedProgram.of(iface);
  configureSteering(prog, listenPort, backends);
  return prog;
}

const MAX_QUEUES = 16;
const IP_UDP_HEADERS = 28;

/** What kvlb knows of a port's kernel side: its interface, if any, with its IPv4 address and MTU. */
type KernelSide = InterfaceInfo | undefined;

/**
 * Ports no kernel serves: a NIC bound to DPDK, or an interface without an IPv4 address. The
 * core then answers ARP for them and asks for the backends itself. Ports must all be served by
 * a kernel, or none: one balancer does not mix the two.
 */
function bareOf(specs: readonly PortSpec[], kernel: readonly KernelSide[]): boolean {
  const bare = kernel.map((k) => k?.address === undefined);
  if (bare.every(Boolean)) return true;
  const i = bare.findIndex(Boolean);
  if (i >= 0) {
    const why = kernel[i] ? `${kernel[i]?.name ?? ""} has no IPv4 address` : "it has no kernel interface";
    throw new ConfigError(
      `--port ${specs[i]?.devargs ?? ""}: ${why}, while the other ports have one; give every port a kernel address, or none`,
    );
  }
  return false;
}

/**
 * How the workers share the ports with the kernel. With several workers a backend's reply may
 * land on any queue, so each worker takes its replies from its own kernel socket, which the
 * kernel picks by port. On af_packet the kernel sees every frame too: it delivers the replies
 * there anyway, and a request on the listening socket that fits one frame is a copy of one the
 * frame path serves. With no kernel at all, the core speaks ARP.
 */
function frameModeFor(specs: readonly PortSpec[], kernel: readonly KernelSide[], queues: number): FrameMode {
  if (bareOf(specs, kernel)) return { repliesViaKernel: false, answerArp: true };
  const packet = specs.flatMap((s, i) => (s.kind === "af_packet" ? [kernel[i]?.mtu ?? 1500] : []));
  return {
    repliesViaKernel: queues > 1 || packet.length > 0,
    ...(packet.length > 0 ? { kernelSeesFrames: { wholeMax: Math.max(...packet) - IP_UDP_HEADERS } } : {}),
  };
}

function checkQueues(specs: readonly PortSpec[], mode: FrameMode, queues: number): void {
  if (!Number.isInteger(queues) || queues < 1 || queues > MAX_QUEUES) {
    throw new ConfigError(`--queues ${queues}: give a whole number from 1 to ${MAX_QUEUES}`);
  }
  if (queues > 1 && mode.answerArp) {
    throw new ConfigError(
      `--queues ${queues}: ${specs[0]?.devargs ?? ""} has no kernel address behind it, and several workers take backend replies through the kernel; use --queues 1, or net_af_packet / net_af_xdp ports on interfaces with an address`,
    );
  }
}

/**
 * Where clients reach kvlb on DPDK when no --listen is given: the first port's interface
 * address, on memcached's port. A port with no kernel interface (a NIC bound to vfio-pci) has
 * none to offer.
 */
export function dpdkDefaultListen(ports: readonly string[]): string {
  const first = ports[0];
  if (first === undefined) {
    throw new ConfigError("--datapath dpdk: give at least one --port, as in --port net_af_xdp0,iface=eth0");
  }
  const spec = parsePort(first, xdpObjectPath());
  const address = spec.iface ? interfaceInfo(spec.iface).address : undefined;
  if (!address) {
    throw new ConfigError(
      `--port ${spec.devargs}: ${spec.iface ? `${spec.iface} has no IPv4 address` : "no kernel interface"} to listen on; give --listen ADDR:PORT, as in --listen 10.0.0.5:11211`,
    );
  }
  return `${address}:11211`;
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
  if (backends.length === 0) throw new ConfigError("no backends: give --backend HOST:PORT (or backends: in --config)");
  const queues = options.queues;
  const specs = options.ports.map((p) => parsePort(p, xdpObjectPath(), queues));
  const ifaces = specs.map((s) => (s.iface ? interfaceInfo(s.iface) : undefined)); // "eth9: no such interface"
  const frameMode = frameModeFor(specs, ifaces, queues);
  checkQueues(specs, frameMode, queues);
  if (frameMode.answerArp && config.listen.address === "0.0.0.0") {
    throw new ConfigError(
      "--listen: with no kernel address behind the ports, kvlb answers ARP for its own; give it, as in --listen 10.0.0.5:11211",
    );
  }
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
    for (const spec of specs) opened.push(openPort(spec, queues));
    for (const spec of specs) {
      if (spec.iface && spec.kind === "af_xdp") {
        programs.push(steer(spec.iface, config.listen.port, frameMode.repliesViaKernel ? [] : backends));
      }
    }
    const ports = specs.map((s, i) => ({
      name: s.name,
      queue: 0,
      ifindex: ifaces[i]?.ifindex ?? 0,
      mac: [...(opened[i]?.mac ?? [])].map((b) => b.toString(16).padStart(2, "0")).join(":"),
      address: ifaces[i]?.address ?? s.address ?? config.listen.address,
      dpdkPort: opened[i]?.port ?? 0,
    }));
    const devs = specs.map((s) => s.iface ?? "");
    // with no kernel behind the ports, the core learns next hops by ARP instead
    const hops = frameMode.answerArp
      ? []
      : nextHops(
          devs,
          backends.map((b) => b.address),
        );
    const rings = queues > 1 ? createPeerRings(queues) : undefined;
    const guard = clientGuard(config.listen.address, config.clientsAllow, config.adminClients);
    balancer = await startWorkers(
      Array.from({ length: queues }, (_, queue) => ({
        core: config.core,
        backends,
        listen: config.listen,
        clients: guard,
        backendBind: "0.0.0.0",
        dpdk: { ports, queue, neighbours: hops },
        frameMode,
        ...(config.module ? { module: config.module } : {}),
        ...(rings ? { peers: { rings, index: queue } } : {}),
      })),
    );
    const b = balancer;
    // the backends' replies to the port the worker's requests leave from come as frames
    if (!frameMode.repliesViaKernel) for (const p of programs) setReplyPort(p, b.ports.backend);
    if (!frameMode.answerArp) stopRefresh = followNextHops(b, devs, backends, hops, log);
    const status = (): unknown => ({
      ports: specs.map((s, i) => ({
        devargs: s.devargs,
        driver: opened[i]?.driver,
        stats: native.portStats(opened[i]?.port ?? 0),
        queues: (b.latest()?.workers ?? [b.latest()]).map((w) => w?.xsk?.[0]),
      })),
    });
    // with no kernel behind the ports, no probe reaches the backends: requests alone judge them
    const control = await startControlPlane(b, config, backends, log, status, !frameMode.answerArp);
    log.debug({ dpdk: native.takeLog() }, "DPDK's log");
    log.info(
      {
        ports: specs.map((s, i) => `${s.name} (${opened[i]?.driver ?? "?"})`),
        workers: queues,
        ...endpointsLine(config, backends, guard),
      },
      "kvlb is balancing over DPDK",
    );
    return await serveUntilStopped(b, control, log);
  } finally {
    stopRefresh?.();
    await balancer?.stop();
    for (const p of programs) p.close();
    for (const p of opened) native.portClose(p.port);
    native.ealCleanup();
    removeRuntime();
  }
}
