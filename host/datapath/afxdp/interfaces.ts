// What kvlb needs to know about an interface it attaches to: its index, MAC and IPv4 address,
// read from the kernel through iproute2's JSON output.
import { execFileSync, spawn } from "node:child_process";
import { ConfigError } from "../../errors.js";

export interface InterfaceInfo {
  name: string;
  ifindex: number;
  mac: string;
  /** Its first IPv4 address, if it has one. */
  address?: string;
  mtu: number;
}

interface IpAddrJson {
  ifindex: number;
  ifname: string;
  address?: string;
  mtu?: number;
  addr_info?: { family: string; local: string }[];
}

function ipJson<T>(args: string[]): T {
  try {
    return JSON.parse(
      execFileSync("ip", ["-j", ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }),
    ) as T;
  } catch (e) {
    const err = e as { code?: string; stderr?: string };
    if (err.code === "ENOENT") throw new ConfigError("the ip command is missing (apt-get install iproute2)");
    throw new Error((err.stderr ?? String(e)).trim());
  }
}

/**
 * ipJson without blocking the control plane, for the refreshes of a running kvlb. The ip
 * process gets a process group of its own, so a SIGTERM sent to kvlb's group (systemctl stop)
 * does not kill it halfway through a read.
 */
export function ipJsonAsync<T>(args: string[], timeoutMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const what = `ip -j ${args.join(" ")}`;
    const child = spawn("ip", ["-j", ...args], { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.once("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${what}: ${e.message}`));
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0)
        return reject(new Error(`${what}: ${err.trim() || (signal ? `killed by ${signal}` : `exit ${code}`)}`));
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${what}: not JSON`));
      }
    });
  });
}

export function interfaceInfo(name: string): InterfaceInfo {
  let list: IpAddrJson[];
  try {
    list = ipJson<IpAddrJson[]>(["addr", "show", "dev", name]);
  } catch {
    throw new ConfigError(`${name}: no such interface`);
  }
  const it = list[0];
  if (!it) throw new ConfigError(`${name}: no such interface`);
  const v4 = it.addr_info?.find((a) => a.family === "inet");
  return {
    name: it.ifname,
    ifindex: it.ifindex,
    mac: it.address ?? "00:00:00:00:00:00",
    address: v4?.local,
    mtu: it.mtu ?? 1500,
  };
}

interface NeighJson {
  dst: string;
  dev: string;
  lladdr?: string;
  state?: string[];
}

interface RouteJson {
  dst: string;
  dev: string;
  gateway?: string;
  prefsrc?: string;
}

export type KernelNeighbour = { address: string; dev: string; mac: string };

/** The kernel's IPv4 neighbours with a known MAC, on the given interfaces. */
export function kernelNeighbours(devs: readonly string[]): KernelNeighbour[] {
  return usableNeighbours(ipJson<NeighJson[]>(["-4", "neigh", "show"]), devs);
}

export async function kernelNeighboursAsync(devs: readonly string[]): Promise<KernelNeighbour[]> {
  return usableNeighbours(await ipJsonAsync<NeighJson[]>(["-4", "neigh", "show"]), devs);
}

function usableNeighbours(all: NeighJson[], devs: readonly string[]): KernelNeighbour[] {
  return all
    .filter(
      (n) => n.lladdr && devs.includes(n.dev) && !(n.state ?? []).some((s) => s === "FAILED" || s === "INCOMPLETE"),
    )
    .map((n) => ({ address: n.dst, dev: n.dev, mac: n.lladdr ?? "" }));
}

export type Route = { dev: string; via?: string };

/** The kernel's route to an address: the device, and the gateway if it is not on a link. */
export function routeTo(address: string): Route | undefined {
  try {
    const r = ipJson<RouteJson[]>(["-4", "route", "get", address])[0];
    return r ? { dev: r.dev, via: r.gateway } : undefined;
  } catch {
    return undefined;
  }
}

export async function routeToAsync(address: string): Promise<Route | undefined> {
  try {
    const r = (await ipJsonAsync<RouteJson[]>(["-4", "route", "get", address]))[0];
    return r ? { dev: r.dev, via: r.gateway } : undefined;
  } catch {
    return undefined;
  }
}
