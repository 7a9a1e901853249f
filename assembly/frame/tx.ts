// The end of a burst on the frame layer: each datagram in the out ring that sits in a UMEM
// frame, with room for its headers and a known next hop, gets Ethernet, IPv4 and UDP headers
// written in front of it (checksums computed from scratch) and goes to R_FTX. The rest stay in
// the out ring for the kernel's sockets: datagrams too large for one frame, and those whose
// next hop the kernel has yet to resolve, and every request to a backend when the host reaches
// the backends over TCP.
import { regionOffset, regionSize, cfgU32, statInc } from "../layout/header";
import {
  R_OUT,
  R_FTX,
  HEADER_BASE,
  H_OUT_COUNT,
  H_FTX_COUNT,
  DESC_BYTES,
  D_OFF,
  D_LEN,
  D_AUX,
  D_FLAGS,
  OUT_BACKEND,
  OUT_STREAM,
  C_BACKEND_STREAMS,
  C_LISTEN_ADDR,
  C_LISTEN_PORT,
  C_BACKEND_PORT,
  R_FRAME,
  FR_IP_ID,
  P_MAC,
  P_ADDR,
  NB_MAC,
  NB_PORT,
  NB_VLAN,
  S_FRAMES_TX,
  S_FRAME_NO_NEIGH,
  S_FRAME_VIA_SOCKET,
  XDESC_BYTES,
  XD_ADDR,
  XD_LEN,
  XD_PORT,
} from "../abi/abi";
import {
  ETH_DST,
  ETH_SRC,
  ETH_TYPE,
  VLAN_TCI,
  VLAN_TYPE,
  VLAN_HLEN,
  ETH_HLEN,
  MAC_LEN,
  ETHERTYPE_IPV4,
  ETHERTYPE_VLAN,
  IP_VIHL,
  IP_TOS,
  IP_TOTAL_LEN,
  IP_ID,
  IP_FRAG,
  IP_TTL,
  IP_PROTO,
  IP_CHECK,
  IP_SRC,
  IP_DST,
  IP_HLEN,
  IPPROTO_UDP,
  UDP_SPORT,
  UDP_DPORT,
  UDP_LEN,
  UDP_CHECK,
  UDP_HLEN,
} from "./headers";
import {
  umemBase,
  frameAt,
  frameStart,
  frameBytes,
  frameState,
  setFrameState,
  frameAlloc,
  releaseHeld,
  NO_FRAME,
  SENDING,
} from "../io/frame-pool";
import { neighFind, portEntry, NO_NEIGH } from "./neigh";
import { sumBytes, finish, bswap16 } from "./checksum";

const MTU: usize = 1500;
const IP_UDP: usize = IP_HLEN + UDP_HLEN;

export function framesFinish(): void {
  const out = regionOffset(R_OUT);
  const n = load<u32>(HEADER_BASE + H_OUT_COUNT);
  const ftx = regionOffset(R_FTX);
  const room = <u32>(regionSize(R_FTX) / XDESC_BYTES);
  let kept: u32 = 0;
  // frames queued earlier in the call (ARP) stay in front
  let sent: u32 = load<u32>(HEADER_BASE + H_FTX_COUNT);
  for (let i: u32 = 0; i < n; i++) {
    const d = out + <usize>i * DESC_BYTES;
    if (sent < room && toFrame(d, ftx + <usize>sent * XDESC_BYTES)) {
      sent++;
      continue;
    }
    if (kept != i) memory.copy(out + <usize>kept * DESC_BYTES, d, DESC_BYTES);
    kept++;
  }
  store<u32>(HEADER_BASE + H_OUT_COUNT, kept);
  store<u32>(HEADER_BASE + H_FTX_COUNT, sent);
  // frames left for the sockets are free again once the host has sent them, before it next
  // takes from the pool
  releaseHeld();
}

function toFrame(d: usize, x: usize): bool {
  // a connection's bytes go through the kernel's TCP socket, and so do requests to backends
  // reached over TCP
  const kind = load<u32>(d + D_FLAGS) & 0xff;
  if (kind >= <u32>OUT_STREAM) return false;
  if (kind == <u32>OUT_BACKEND && cfgU32(C_BACKEND_STREAMS) != 0) return false;
  const ptr = <usize>load<u32>(d + D_OFF);
  const len = <usize>load<u32>(d + D_LEN);
  const frame = frameAt(ptr);
  if (frame == NO_FRAME) return false;
  const dst = load<u32>(d + D_AUX);
  const flags = load<u32>(d + D_FLAGS);
  const nb = neighFind(dst);
  if (nb == NO_NEIGH) {
    statInc(S_FRAME_NO_NEIGH);
    return false;
  }
  const vlan = <u32>load<u16>(nb + NB_VLAN);
  const l2 = vlan != 0 ? VLAN_HLEN : ETH_HLEN;
  const start = ptr - l2 - IP_UDP;
  const fs = frameStart(frame);
  if (len + IP_UDP > MTU || start < fs || ptr + len > fs + frameBytes()) {
    statInc(S_FRAME_VIA_SOCKET);
    return false;
  }
  if (frameState(frame) == SENDING) {
    // a second datagram in a frame that is already going out: it gets a frame of its own
    const copy = frameAlloc();
    if (copy == 0) return false;
    memory.copy(copy, ptr, len);
    return toFrame(rewrite(d, copy), x);
  }
  const port = <u32>load<u8>(nb + NB_PORT);
  const pe = portEntry(port);
  const toBackend = (flags & 0xffff) == OUT_BACKEND;
  const listen = cfgU32(C_LISTEN_ADDR);
  const src = toBackend || listen == 0 ? load<u32>(pe + P_ADDR) : listen;
  const sport = toBackend ? cfgU32(C_BACKEND_PORT) : cfgU32(C_LISTEN_PORT);
  ethernet(start, nb + NB_MAC, pe + P_MAC, vlan);
  const ip = start + l2;
  ipv4(ip, src, dst, len);
  udp(ip, ip + IP_HLEN, sport, flags >> 16, len);
  store<u64>(x + XD_ADDR, <u64>(start - umemBase()));
  store<u32>(x + XD_LEN, <u32>(l2 + IP_UDP + len));
  store<u32>(x + XD_PORT, port);
  setFrameState(frame, SENDING);
  statInc(S_FRAMES_TX);
  return true;
}

function rewrite(d: usize, ptr: usize): usize {
  store<u32>(d + D_OFF, <u32>ptr);
  return d;
}

@inline function be16(p: usize, v: u32): void {
  store<u16>(p, <u16>bswap16(v));
}

function ethernet(p: usize, dstMac: usize, srcMac: usize, vlan: u32): void {
  memory.copy(p + ETH_DST, dstMac, MAC_LEN);
  memory.copy(p + ETH_SRC, srcMac, MAC_LEN);
  if (vlan != 0) {
    be16(p + ETH_TYPE, ETHERTYPE_VLAN);
    be16(p + VLAN_TCI, vlan);
    be16(p + VLAN_TYPE, ETHERTYPE_IPV4);
  } else {
    be16(p + ETH_TYPE, ETHERTYPE_IPV4);
  }
}

function ipv4(ip: usize, src: u32, dst: u32, payloadLen: usize): void {
  const idAt = regionOffset(R_FRAME) + FR_IP_ID;
  const id = load<u32>(idAt);
  store<u32>(idAt, id + 1);
  store<u8>(ip + IP_VIHL, 0x45);
  store<u8>(ip + IP_TOS, 0);
  be16(ip + IP_TOTAL_LEN, <u32>(payloadLen + IP_UDP));
  be16(ip + IP_ID, id & 0xffff);
  be16(ip + IP_FRAG, 0x4000); // DF: a frame is never larger than the MTU
  store<u8>(ip + IP_TTL, 64);
  store<u8>(ip + IP_PROTO, <u8>IPPROTO_UDP);
  store<u16>(ip + IP_CHECK, 0);
  store<u32>(ip + IP_SRC, src);
  store<u32>(ip + IP_DST, dst);
  store<u16>(ip + IP_CHECK, finish(sumBytes(ip, IP_HLEN, 0)));
}

function udp(ip: usize, u: usize, sport: u32, dport: u32, payloadLen: usize): void {
  const udpLen = <u32>(payloadLen + UDP_HLEN);
  be16(u + UDP_SPORT, sport);
  be16(u + UDP_DPORT, dport);
  be16(u + UDP_LEN, udpLen);
  store<u16>(u + UDP_CHECK, 0);
  // pseudo header: addresses, protocol and length, as little-endian words
  let sum: u64 =
    <u64>load<u32>(ip + IP_SRC) + <u64>load<u32>(ip + IP_DST) + ((<u64>IPPROTO_UDP) << 8) + <u64>bswap16(udpLen);
  sum = sumBytes(u, <usize>udpLen, sum);
  const c = finish(sum);
  store<u16>(u + UDP_CHECK, c == 0 ? 0xffff : c);
}
