// Filling and reading kvlb's steering maps, for a program kvlb loaded itself (kvlb attach) or
// one DPDK's af_xdp driver loaded (kvlb run --datapath dpdk): both give their maps by name.
import { be16, u8, u32, u64, bytes, type BpfMap } from "libbpf-ts";
import { XDP_MAPS, xdpCounters, endpointKey, ENDPOINT_BYTES, PORT_V4, PORT_REPLY, type XdpCounter } from "./layout.js";

/** A loaded copy of kvlb's program: a BpfObject, or an AttachedProgram found on an interface. */
export interface SteeringMaps {
  map(name: string): BpfMap;
}

/**
 * Steers IPv4 memcached UDP to `port`, and the backends' replies. The frame layer serves IPv4;
 * IPv6 memcached traffic stays with the kernel.
 */
export function configureSteering(
  p: SteeringMaps,
  port: number,
  backends: readonly { address: string; port: number }[],
): void {
  p.map(XDP_MAPS.ports).typed(be16, u8).set(port, PORT_V4);
  steerBackends(p, backends);
}

/** The backends whose UDP replies are kvlb's (a reload adds those it names; a retired one stays). */
export function steerBackends(p: SteeringMaps, backends: readonly { address: string; port: number }[]): void {
  const map = p.map(XDP_MAPS.backends).typed(bytes(ENDPOINT_BYTES), u8);
  for (const b of backends) map.set(endpointKey(b.address, b.port), 1);
}

/** kvlb's requests to the backends leave from `port`: the backends' replies to it are kvlb's. */
export function setReplyPort(p: SteeringMaps, port: number): void {
  p.map(XDP_MAPS.ports).typed(be16, u8).set(port, PORT_REPLY);
}

/** The AF_XDP socket of an rx queue. */
export function setSocket(p: SteeringMaps, queue: number, fd: number): void {
  p.map(XDP_MAPS.xsks).typed(u32, u32).set(queue, fd);
}

/** The per-CPU verdict counters, summed over the CPUs. */
export function readCounters(p: SteeringMaps): Record<XdpCounter, number> {
  const map = p.map(XDP_MAPS.counters).typed(u32, u64);
  const out = {} as Record<XdpCounter, number>;
  xdpCounters.forEach((name, i) => (out[name] = map.getPerCpu(i).reduce((a, b) => a + Number(b), 0)));
  return out;
}
