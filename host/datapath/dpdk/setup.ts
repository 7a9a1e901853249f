// Setting up DPDK ports for kvlb: the EAL, each port opened with errors an operator can act
// on, kvlb's XDP program where DPDK's af_xdp driver loaded it, how the workers share the ports
// with the kernel, and where clients reach kvlb by default.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { constants } from "node:os";
import { AttachedProgram } from "libbpf-ts";
import type { FrameMode } from "../../core/frame-tables.js";
import type { Backend } from "../../core/backends.js";
import { ConfigError } from "../../errors.js";
import { dpdk, type PortInfo } from "./native.js";
import { parsePort, ealArgs, startEal, dpdkComplaint, type PortSpec } from "./eal.js";
import { interfaceInfo, type InterfaceInfo } from "../afxdp/interfaces.js";
import { xdpObjectPath } from "../afxdp/steering.js";
import { configureSteering } from "../../xdp/steering-maps.js";

const { errno } = constants;

const DPDK_RUNTIME_DIR = "/var/run/dpdk"; // root's; kvlb runs DPDK as root only

/**
 * Starts the EAL for these ports with the operator's arguments, under a file prefix of kvlb's
 * own unless they name one. Returns what removes the runtime files the EAL leaves behind.
 */
export function startEalFor(specs: readonly PortSpec[], args: string): () => void {
  const operatorArgs = args.split(/\s+/).filter(Boolean);
  const prefix = `kvlb-${process.pid}`;
  const ownPrefix = !operatorArgs.includes("--file-prefix");
  const removeRuntime = (): void => {
    if (ownPrefix) rmSync(join(DPDK_RUNTIME_DIR, prefix), { recursive: true, force: true });
  };
  try {
    startEal(ealArgs(specs, operatorArgs, prefix));
  } catch (e) {
    removeRuntime();
    throw e;
  }
  return removeRuntime;
}

export function openPort(spec: PortSpec, queues: number): PortInfo {
  try {
    return dpdk().portOpen(spec.name, { queues });
  } catch (e) {
    const err = e as { message: string; errno?: number; log?: string };
    const why = dpdkComplaint(err.log);
    const said = why ? ` (${why})` : "";
    if (err.errno === errno.ENODEV) {
      const hint = !spec.virtual
        ? `; is ${spec.name} bound to vfio-pci? (dpdk-devbind.py --status)`
        : spec.kind === "af_xdp" && queues > 1
          ? `; net_af_xdp needs ${queues} combined channels (ethtool -L ${spec.iface ?? "IFACE"} combined ${queues}), and a veth has none: use net_af_packet for several queues there`
          : "";
      throw new ConfigError(`--port ${spec.devargs}: DPDK did not create this port${said}${hint}`);
    }
    if (err.errno === errno.ENOMEM) {
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
export function steer(iface: string, listenPort: number, backends: readonly Backend[]): AttachedProgram {
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
export function frameModeFor(specs: readonly PortSpec[], kernel: readonly KernelSide[], queues: number): FrameMode {
  if (bareOf(specs, kernel)) return { repliesViaKernel: false, answerArp: true };
  const packet = specs.flatMap((s, i) => (s.kind === "af_packet" ? [kernel[i]?.mtu ?? 1500] : []));
  return {
    repliesViaKernel: queues > 1 || packet.length > 0,
    ...(packet.length > 0 ? { kernelSeesFrames: { wholeMax: Math.max(...packet) - IP_UDP_HEADERS } } : {}),
  };
}

export function checkQueues(specs: readonly PortSpec[], mode: FrameMode, queues: number): void {
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
