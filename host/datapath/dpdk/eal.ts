// Starting DPDK for kvlb: the EAL's arguments from the ports, and its failures as sentences with
// the fix. DPDK's own log lines are kept for the operator's debug log, not printed.
import { ConfigError } from "../../errors.js";
import { dpdk } from "./native.js";

/** A port as the operator gives it: DPDK devargs, "net_af_xdp0,iface=eth0" or "0000:01:00.0". */
export interface PortSpec {
  devargs: string;
  /** The EAL's name for it: the vdev's name, or the PCI address. */
  name: string;
  /** A virtual device (net_*), created with --vdev; otherwise a PCI device, allowed with -a. */
  virtual: boolean;
  /** The kernel interface behind a net_af_xdp or net_af_packet port. */
  iface?: string;
  /** af_xdp: kvlb's XDP program steers. af_packet: the kernel sees every frame too. */
  kind: "af_xdp" | "af_packet" | "other";
  /** kvlb's own `address=` key: the port's IPv4 address where no kernel interface has one. */
  address?: string;
}

/** Adds `key=value` to devargs unless the operator set the key. */
function withArg(devargs: string, key: string, value: string): string {
  return devargs.split(",").some((kv) => kv.startsWith(`${key}=`)) ? devargs : `${devargs},${key}=${value}`;
}

/** A port from its devargs; with several queues, the af_xdp and af_packet drivers are told so. */
export function parsePort(given: string, xdpObject: string, queues = 1): PortSpec {
  // address= is kvlb's, not DPDK's: it comes out before the devargs go to the EAL
  const address = given
    .split(",")
    .find((kv) => kv.startsWith("address="))
    ?.slice("address=".length);
  if (address !== undefined && !/^(\d{1,3}\.){3}\d{1,3}$/.test(address)) {
    throw new ConfigError(`--port ${given}: address=${address} is not an IPv4 address`);
  }
  const devargs = given
    .split(",")
    .filter((kv) => !kv.startsWith("address="))
    .join(",");
  const [name = "", ...rest] = devargs.split(",");
  if (name === "") throw new ConfigError(`--port ${devargs}: expected DPDK devargs, as in net_af_xdp0,iface=eth0`);
  const virtual = name.startsWith("net_");
  const iface = rest.find((kv) => kv.startsWith("iface="))?.slice("iface=".length);
  if (virtual && (name.startsWith("net_af_xdp") || name.startsWith("net_af_packet")) && !iface) {
    throw new ConfigError(`--port ${devargs}: name the interface, as in ${name},iface=eth0`);
  }
  const kind = !virtual
    ? "other"
    : name.startsWith("net_af_xdp")
      ? "af_xdp"
      : name.startsWith("net_af_packet")
        ? "af_packet"
        : "other";
  let args = devargs;
  // kvlb's own program steers, so everything but memcached still reaches the kernel
  if (kind === "af_xdp") args = withArg(args, "xdp_prog", xdpObject);
  if (kind === "af_xdp" && queues > 1) args = withArg(args, "queue_count", String(queues));
  if (kind === "af_packet" && queues > 1) args = withArg(args, "qpairs", String(queues));
  return { devargs: args, name, virtual, kind, ...(iface ? { iface } : {}), ...(address ? { address } : {}) };
}

/** The EAL's arguments: the operator's, then the ports, and a runtime-file prefix of our own. */
export function ealArgs(ports: readonly PortSpec[], operatorArgs: readonly string[], prefix: string): string[] {
  const args = [...operatorArgs];
  if (!args.includes("--file-prefix")) args.push("--file-prefix", prefix);
  for (const p of ports) args.push(p.virtual ? "--vdev" : "-a", p.devargs);
  // with only virtual ports, leave the machine's PCI devices alone
  if (ports.every((p) => p.virtual) && !args.includes("--no-pci")) args.push("--no-pci");
  return args;
}

interface NativeError {
  message: string;
  errno?: number;
  log?: string;
}

/** Why the EAL failed, and what to do, from its errno and its own log. */
/** The last line of DPDK's log that says what went wrong, if any does. */
export function dpdkComplaint(log: string | undefined): string {
  const lines = (log ?? "").split("\n").map((l) => l.trim());
  return lines.filter((l) => /error|fail|cannot|invalid|unrecognized|no such|not found|refused/i.test(l)).pop() ?? "";
}

export function ealFailure(e: NativeError): string {
  const log = e.log ?? "";
  const last = dpdkComplaint(log);
  if (/Cannot get hugepage information|No free .*hugepages|hugepages? .*(not|no) /i.test(log)) {
    return 'DPDK found no free hugepages: reserve some (echo 256 > /proc/sys/vm/nr_hugepages) or pass --dpdk-args="--no-huge -m 512"';
  }
  if (e.errno === 12) return `DPDK could not get its memory (${last}): lower -m, or reserve hugepages`;
  if (e.errno === 13 || /Permission denied/.test(log)) return "DPDK needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN, CAP_BPF)";
  if (e.errno === 114) return "DPDK is already running in this process";
  const bad = /unrecognized option '([^']+)'|invalid option -- '?(\w)/.exec(log);
  if (bad)
    return `DPDK refused its arguments: ${bad[1] ?? `-${bad[2] ?? "?"}`} is not an EAL option (see dpdk-testpmd -h)`;
  if (/Invalid|invalid|Usage/.test(log)) return `DPDK refused its arguments: ${last}`;
  return `DPDK's EAL failed (${e.message})${last ? `: ${last}` : ""}`;
}

export function startEal(args: string[]): void {
  try {
    dpdk().ealInit(args);
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(ealFailure(e as NativeError));
  }
}
