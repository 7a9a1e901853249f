// The layouts of xdp/kvlb.h as the host reads them. test/xdp/layout.test.ts checks this file
// against the header, so the two cannot drift apart.
import { isIPv4, isIPv6 } from "node:net";
import { ipv4Bytes, ipv6Bytes } from "../util/ip.js";

/** The per-CPU `counters` array, in kvlb_counter order. */
export const xdpCounters = [
  "redirect_request",
  "redirect_reply",
  "pass_no_socket",
  "pass_not_ip",
  "pass_not_udp",
  "pass_fragment",
  "pass_other_port",
  "pass_truncated",
  "pass_malformed",
  "pass_ipv6_ext",
] as const;
export type XdpCounter = (typeof xdpCounters)[number];

/** The maps and programs of xdp/kvlb.bpf.c, by name (KVLB_MAP_* and KVLB_PROG_* in kvlb.h). */
export const XDP_MAPS = { xsks: "xsks_map", ports: "ports", backends: "backends", counters: "counters" } as const;
export const XDP_PROGRAMS = { steer: "kvlb_steer", pass: "kvlb_pass" } as const;

export const ENDPOINT_BYTES = 20;
/** The value of a `ports` entry: the families steered to that port. */
export const PORT_V4 = 1;
export const PORT_V6 = 2;
/** kvlb's requests to the backends leave from this port: the backends' replies to it are kvlb's. */
export const PORT_REPLY = 4;
export const MAX_PORTS = 64;
export const MAX_BACKENDS = 256;
export const MAX_QUEUES = 64;

/** struct kvlb_endpoint for an address and port: the key of the `backends` map. */
export function endpointKey(address: string, port: number): Uint8Array {
  const key = new Uint8Array(ENDPOINT_BYTES);
  if (isIPv4(address)) {
    key.set(ipv4Bytes(address), 0);
    key[18] = 4;
  } else if (isIPv6(address)) {
    key.set(ipv6Bytes(address), 0);
    key[18] = 6;
  } else {
    throw new Error(`${address}: not an IPv4 or IPv6 address`);
  }
  key[16] = port >> 8; // network byte order, as the packet carries it
  key[17] = port & 0xff;
  return key;
}
