// Who kvlb answers (kvlb.yaml's clients section): the allow-list of CIDRs, kvlb's own addresses,
// and the reply budget. By default, loopback and the subnet of the interface that holds the
// listen address: memcached's UDP amplification needs a forged source, and a forged source
// from beyond the local subnet is refused.
import { networkInterfaces } from "node:os";
import { isIPv4 } from "node:net";
import { ConfigError } from "../errors.js";

export interface Cidr {
  /** The network's address, dotted. */
  network: string;
  bits: number;
}

export interface ClientGuard {
  allow: Cidr[];
  /** Clients whose flush_all goes to every backend. */
  admin: Cidr[];
  /** Addresses of this host: a datagram from one of them to kvlb's own ports is a reflection. */
  own: string[];
  /** The allow-list was derived, not configured: say so in the startup log. */
  derived: string;
}

export function parseCidr(text: string, where = "clients.allow"): Cidr {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?$/.exec(text);
  const bits = m?.[2] === undefined ? 32 : Number(m[2]);
  if (!m || !isIPv4(m[1] ?? "") || bits > 32)
    throw new ConfigError(`${where}: ${text}: expected an IPv4 CIDR, like 10.0.1.0/24`);
  return { network: maskAddress(m[1] ?? "", bits), bits };
}

function maskAddress(address: string, bits: number): string {
  const n = address.split(".").reduce((a, p) => (a << 8) | Number(p), 0) >>> 0;
  const masked = bits === 0 ? 0 : (n & (~0 << (32 - bits))) >>> 0;
  return [24, 16, 8, 0].map((s) => (masked >>> s) & 0xff).join(".");
}

export const cidrText = (c: Cidr): string => `${c.network}/${c.bits}`;

/** The allow-list and own addresses for a balancer listening on `listen`. */
export function clientGuard(
  listen: string,
  configured: readonly string[] | undefined,
  admin: readonly Cidr[] = [],
): ClientGuard {
  const local = Object.values(networkInterfaces())
    .flat()
    .filter((i) => i !== undefined && i.family === "IPv4");
  const own = [
    ...new Set(["127.0.0.1", ...local.map((i) => i?.address ?? ""), ...(listen === "0.0.0.0" ? [] : [listen])]),
  ];
  if (configured !== undefined) {
    return { allow: configured.map((c) => parseCidr(c)), admin: [...admin], own, derived: "" };
  }
  const allow: Cidr[] = [{ network: "127.0.0.0", bits: 8 }];
  const holders = local.filter((i) => listen === "0.0.0.0" || i?.address === listen);
  for (const i of holders) {
    if (i?.cidr) allow.push(parseCidr(i.cidr));
  }
  let derived = `loopback and ${holders.length > 0 ? "the listen address's subnet" : "no other subnet"}`;
  if (holders.length === 0 && listen !== "127.0.0.1" && listen !== "0.0.0.0") {
    // no kernel interface holds it (a port DPDK owns): its /24, and the log says so
    allow.push(parseCidr(`${listen}/24`));
    derived = `loopback and ${listen}/24 (no interface holds ${listen}; set clients.allow to say which clients)`;
  }
  const unique = new Map(allow.map((c) => [cidrText(c), c]));
  return { allow: [...unique.values()], admin: [...admin], own, derived };
}
