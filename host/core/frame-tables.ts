// The host's side of the core's frame layer: the balancer's addresses, the AF_XDP ports and
// the neighbour (next hop) table, written through the core's exports.
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "./core.js";
import { CoreError } from "../errors.js";
import { ipv4ToWire } from "./backends.js";

export interface FramePort {
  mac: Uint8Array;
  /** The port's own IPv4 address: the source of frames to backends behind it. */
  address: string;
  ifindex: number;
}

export interface Neighbour {
  address: string;
  mac: Uint8Array;
  port: number;
  vlan?: number;
}

export function setFrameAddresses(core: Core, listen: { address: string; port: number }, backendPort: number): void {
  const view = new DataView(core.memory.buffer, abi.CONFIG_BASE, abi.CONFIG_BYTES);
  const any = listen.address === "0.0.0.0";
  view.setUint32(abi.C_LISTEN_ADDR, any ? 0 : ipv4ToWire(listen.address), true);
  view.setUint32(abi.C_LISTEN_PORT, listen.port, true);
  view.setUint32(abi.C_BACKEND_PORT, backendPort, true);
}

/** How this worker shares its port with the kernel and with other workers. */
export interface FrameMode {
  /** Backend replies come through this worker's kernel socket, not as frames. */
  repliesViaKernel: boolean;
  /** The kernel sees every frame too (af_packet): the largest request payload that arrives whole. */
  kernelSeesFrames?: { wholeMax: number };
  /** No kernel serves the ports: the core answers ARP for their addresses and asks for the backends'. */
  answerArp?: boolean;
}

export function setFrameMode(core: Core, mode: FrameMode): void {
  const view = new DataView(core.memory.buffer, abi.CONFIG_BASE, abi.CONFIG_BYTES);
  const flags =
    (mode.repliesViaKernel ? abi.FM_REPLIES_VIA_KERNEL : 0) |
    (mode.kernelSeesFrames ? abi.FM_KERNEL_SEES_FRAMES : 0) |
    (mode.answerArp ? abi.FM_ANSWER_ARP : 0);
  view.setUint32(abi.C_FRAME_MODE, flags, true);
  view.setUint32(abi.C_SOCKET_WHOLE_MAX, mode.kernelSeesFrames?.wholeMax ?? 0, true);
}

function withMac(core: Core, mac: Uint8Array, call: (at: number) => number): void {
  if (mac.length !== 6) throw new Error(`a MAC address has 6 bytes, not ${mac.length}`);
  const at = core.hostArea.offset;
  core.u8.set(mac, at);
  const r = call(at);
  if (r < 0) throw new CoreError(r, "frame table");
}

export function setFramePort(core: Core, index: number, port: FramePort): void {
  withMac(core, port.mac, (at) => core.exports.frame_port(index, at, ipv4ToWire(port.address), port.ifindex));
}

export function setNeighbours(core: Core, neighbours: readonly Neighbour[]): void {
  for (const n of neighbours) {
    withMac(core, n.mac, (at) => core.exports.neigh_static(ipv4ToWire(n.address), at, n.port, n.vlan ?? 0));
  }
}

/** Parses "aa:bb:cc:dd:ee:ff". */
export function macBytes(text: string): Uint8Array {
  const parts = text.split(":");
  if (parts.length !== 6 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new Error(`${text}: not a MAC address`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/** Has the core broadcast an ARP request for each address on every port (queued in R_FTX). */
export function askArp(core: Core, addresses: readonly string[]): number {
  const at = core.hostArea.offset;
  addresses.forEach((a, i) => (core.u32[(at >>> 2) + i] = ipv4ToWire(a)));
  const r = core.exports.arp_ask(at, addresses.length);
  if (r < 0) throw new CoreError(r, "arp_ask");
  return r;
}
