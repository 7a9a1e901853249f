// Crafted Ethernet frames for XDP tests: IPv4 (with options and fragments), IPv6 (with extension
// headers), one 802.1Q tag, UDP, TCP, ICMP and ARP, each as short or as long as a test needs.
import { ipv4Bytes, ipv6Bytes } from "../../host/util/ip.js";

export interface FrameSpec {
  v6?: boolean;
  vlan?: number;
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  /** IP protocol / next header: 17 UDP (default), 6 TCP, 1 ICMP. */
  proto?: number;
  payload?: Buffer;
  /** Bytes of IPv4 options (a multiple of 4). */
  ipOptions?: number;
  /** IPv4: set MF; or a fragment offset in 8-byte units. IPv6: add a fragment header. */
  fragment?: "more" | number;
  /** IPv6 next-header chain before the transport header, e.g. [0] for hop-by-hop. */
  v6Ext?: number[];
}

const MAC_A = [0x02, 0, 0, 0, 0, 0x0a];
const MAC_B = [0x02, 0, 0, 0, 0, 0x0b];

function l4(spec: FrameSpec): Buffer {
  const payload = spec.payload ?? Buffer.from("\x00\x01\x00\x00\x00\x01\x00\x00get k\r\n", "latin1");
  const proto = spec.proto ?? 17;
  if (proto === 17) {
    const h = Buffer.alloc(8);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 11211, 2);
    h.writeUInt16BE(8 + payload.length, 4);
    return Buffer.concat([h, payload]);
  }
  if (proto === 6) {
    const h = Buffer.alloc(20);
    h.writeUInt16BE(spec.sport ?? 40000, 0);
    h.writeUInt16BE(spec.dport ?? 11211, 2);
    h[12] = 5 << 4;
    return Buffer.concat([h, payload]);
  }
  return Buffer.concat([Buffer.from([8, 0, 0, 0, 0, 1, 0, 1]), payload]); // ICMP echo
}

function ipv4(spec: FrameSpec, body: Buffer): Buffer {
  const options = spec.ipOptions ?? 0;
  const h = Buffer.alloc(20 + options, 0x01); // options: NOPs
  h[0] = 0x40 | ((20 + options) / 4);
  h[1] = 0;
  h.writeUInt16BE(h.length + body.length, 2);
  h.writeUInt16BE(1, 4);
  const frag = spec.fragment === "more" ? 0x2000 : typeof spec.fragment === "number" ? spec.fragment : 0;
  h.writeUInt16BE(frag, 6);
  h[8] = 64;
  h[9] = spec.proto ?? 17;
  h.writeUInt16BE(0, 10);
  Buffer.from(ipv4Bytes(spec.src ?? "10.0.1.2")).copy(h, 12);
  Buffer.from(ipv4Bytes(spec.dst ?? "10.0.1.1")).copy(h, 16);
  h.writeUInt16BE(inetChecksum(h), 10);
  return Buffer.concat([h, body]);
}

function ipv6(spec: FrameSpec, body: Buffer): Buffer {
  const chain = [...(spec.v6Ext ?? []), ...(spec.fragment !== undefined ? [44] : [])];
  const headers = chain.map((type, i) => {
    const next = chain[i + 1] ?? spec.proto ?? 17;
    const e = Buffer.alloc(8);
    e[0] = next;
    if (type === 44 && spec.fragment === "more") e[3] = 1;
    return e;
  });
  const ext = Buffer.concat(headers);
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(ext.length + body.length, 4);
  h[6] = chain[0] ?? spec.proto ?? 17;
  h[7] = 64;
  Buffer.from(ipv6Bytes(spec.src ?? "fd00:1::2")).copy(h, 8);
  Buffer.from(ipv6Bytes(spec.dst ?? "fd00:1::1")).copy(h, 24);
  return Buffer.concat([h, ext, body]);
}

export function ethernet(etherType: number, body: Buffer, vlan?: number): Buffer {
  const macs = Buffer.from([...MAC_B, ...MAC_A]);
  const tag = vlan === undefined ? Buffer.alloc(0) : Buffer.from([0x81, 0x00, vlan >> 8, vlan & 0xff]);
  const type = Buffer.from([etherType >> 8, etherType & 0xff]);
  return Buffer.concat([macs, tag, type, body]);
}

export function frame(spec: FrameSpec = {}): Buffer {
  const body = l4(spec);
  return spec.v6 ? ethernet(0x86dd, ipv6(spec, body), spec.vlan) : ethernet(0x0800, ipv4(spec, body), spec.vlan);
}

export interface ArpSpec {
  /** 1 request (default), 2 reply. */
  op?: number;
  senderMac?: string;
  senderIp?: string;
  targetMac?: string;
  targetIp?: string;
}

const macBytesOf = (text: string): number[] => text.split(":").map((h) => parseInt(h, 16));

/** An ARP frame from MAC_A; by default a request with zero addresses. */
export function arp(spec: ArpSpec = {}): Buffer {
  const body = Buffer.alloc(28);
  body.writeUInt16BE(1, 0);
  body.writeUInt16BE(0x0800, 2);
  body[4] = 6;
  body[5] = 4;
  body.writeUInt16BE(spec.op ?? 1, 6);
  if (spec.senderMac) Buffer.from(macBytesOf(spec.senderMac)).copy(body, 8);
  if (spec.senderIp) Buffer.from(ipv4Bytes(spec.senderIp)).copy(body, 14);
  if (spec.targetMac) Buffer.from(macBytesOf(spec.targetMac)).copy(body, 18);
  if (spec.targetIp) Buffer.from(ipv4Bytes(spec.targetIp)).copy(body, 24);
  return ethernet(0x0806, body);
}

export interface ParsedArp {
  dstMac: string;
  srcMac: string;
  op: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

/** Reads an ARP frame back (no VLAN tag). */
export function parseArp(f: Buffer): ParsedArp {
  if (f.readUInt16BE(12) !== 0x0806) throw new Error(`not ARP: ethertype ${f.readUInt16BE(12).toString(16)}`);
  const a = f.subarray(14, 42);
  return {
    dstMac: macText(f.subarray(0, 6)),
    srcMac: macText(f.subarray(6, 12)),
    op: a.readUInt16BE(6),
    senderMac: macText(a.subarray(8, 14)),
    senderIp: [...a.subarray(14, 18)].join("."),
    targetMac: macText(a.subarray(18, 24)),
    targetIp: [...a.subarray(24, 28)].join("."),
  };
}

/** The Internet checksum (RFC 1071) of bytes, as the value to write big-endian. */
export function inetChecksum(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i < bytes.length; i += 2) sum += ((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export interface ParsedFrame {
  dstMac: string;
  srcMac: string;
  vlan?: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  payload: Buffer;
  ipChecksumOk: boolean;
  udpChecksumOk: boolean;
}

const macText = (b: Buffer): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");

/** Reads an IPv4/UDP frame back, checking both checksums from scratch. */
export function parseFrame(f: Buffer): ParsedFrame {
  let l3 = 14;
  let vlan: number | undefined;
  if (f.readUInt16BE(12) === 0x8100) {
    vlan = f.readUInt16BE(14) & 0xfff;
    l3 = 18;
  }
  const ihl = ((f[l3] ?? 0) & 0x0f) * 4;
  const ip = f.subarray(l3, l3 + ihl);
  const udp = f.subarray(l3 + ihl, l3 + f.readUInt16BE(l3 + 2));
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17, udp.length >> 8, udp.length & 0xff])]);
  let pseudoSum = 0;
  for (let i = 0; i < pseudo.length; i += 2) pseudoSum += pseudo.readUInt16BE(i);
  return {
    dstMac: macText(f.subarray(0, 6)),
    srcMac: macText(f.subarray(6, 12)),
    vlan,
    src: [...ip.subarray(12, 16)].join("."),
    dst: [...ip.subarray(16, 20)].join("."),
    sport: udp.readUInt16BE(0),
    dport: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(8)),
    ipChecksumOk: inetChecksum(ip) === 0,
    udpChecksumOk: inetChecksum(udp, pseudoSum) === 0,
  };
}
