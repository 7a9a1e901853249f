// Received frames: Ethernet (one VLAN tag), IPv4 and UDP are checked, the sender's next hop is
// learned, and the UDP payload goes to the proxy as a client request or a backend reply, in
// place. IPv6 and anything malformed is counted and dropped: the XDP program already let
// through to the kernel what the kernel must see.
import { regionOffset, regionSize, cfgU32, statInc, statAdd } from "../layout/header";
import {
  R_RX,
  C_FRAMES,
  C_FRAME_BYTES,
  C_LISTEN_ADDR,
  C_LISTEN_PORT,
  C_BACKEND_PORT,
  C_FRAME_MODE,
  FM_REPLIES_VIA_KERNEL,
  FM_KERNEL_SEES_FRAMES,
  FM_ANSWER_ARP,
  S_FRAMES_RX,
  S_FRAME_MALFORMED,
  S_FRAME_BAD_CHECKSUM,
  S_FRAME_NOT_OURS,
  S_FRAME_IPV6,
  S_FRAME_REPLY_VIA_KERNEL,
  S_BURST_REFUSED,
  E_BURST,
  XDESC_BYTES,
  XD_ADDR,
  XD_LEN,
  XD_PORT,
} from "../abi/abi";
import {
  ETH_SRC,
  ETH_TYPE,
  ETH_HLEN,
  VLAN_TCI,
  VLAN_TYPE,
  VLAN_HLEN,
  ETHERTYPE_IPV4,
  ETHERTYPE_ARP,
  ETHERTYPE_VLAN,
  ETHERTYPE_QINQ,
  ETHERTYPE_IPV6,
  IP_VIHL,
  IP_TOTAL_LEN,
  IP_FRAG,
  IP_PROTO,
  IP_SRC,
  IP_DST,
  IP_HLEN,
  IPPROTO_UDP,
  UDP_SPORT,
  UDP_DPORT,
  UDP_LEN,
  UDP_HLEN,
} from "./headers";
import { admitDatagram, serveClient } from "../proxy/client";
import { handleBackend } from "../proxy/backend";
import { backendFrom, backendAddress } from "../route/backends";
import { umemBase, hold } from "../io/frame-pool";
import { neighLearn } from "./neigh";
import { arpIn } from "./arp";
import { sumBytes, finish, bswap16 } from "./checksum";

// struct xdp_desc, as the AF_XDP driver writes it

export function processFrames(n: u32): i32 {
  const rx = regionOffset(R_RX);
  if (<usize>n * XDESC_BYTES > regionSize(R_RX)) {
    statInc(S_BURST_REFUSED);
    return E_BURST;
  }
  const frames = <u64>cfgU32(C_FRAMES);
  const fsize = <u64>cfgU32(C_FRAME_BYTES);
  const base = umemBase();
  for (let k: u32 = 0; k < n; k++) {
    const d = rx + <usize>k * XDESC_BYTES;
    const addr = load<u64>(d + XD_ADDR);
    const len = <u64>load<u32>(d + XD_LEN);
    const frame = addr / fsize;
    // a descriptor the driver wrote wrong is dropped; its frame is not ours to free
    if (frame >= frames || (addr % fsize) + len > fsize) {
      statInc(S_FRAME_MALFORMED);
      continue;
    }
    hold(<u32>frame);
    frameIn(base + <usize>addr, <usize>len, load<u32>(d + XD_PORT));
  }
  statAdd(S_FRAMES_RX, n);
  return <i32>n;
}

function frameIn(f: usize, len: usize, port: u32): void {
  if (len < ETH_HLEN + IP_HLEN + UDP_HLEN) {
    statInc(S_FRAME_MALFORMED);
    return;
  }
  let type = bswap16(<u32>load<u16>(f + ETH_TYPE));
  let l3 = ETH_HLEN;
  let vlan: u32 = 0;
  if (type == ETHERTYPE_VLAN || type == ETHERTYPE_QINQ) {
    vlan = bswap16(<u32>load<u16>(f + VLAN_TCI)) & 0x0fff;
    type = bswap16(<u32>load<u16>(f + VLAN_TYPE));
    l3 = VLAN_HLEN;
  }
  if (type == ETHERTYPE_IPV6) {
    statInc(S_FRAME_IPV6);
    return;
  }
  const mode = cfgU32(C_FRAME_MODE);
  if (type == ETHERTYPE_ARP && (mode & FM_ANSWER_ARP) != 0) {
    arpIn(f, f + l3, len, port, vlan);
    return;
  }
  // Where the kernel sees every frame too (af_packet), ARP, TCP, ICMP and fragments are its to
  // serve; elsewhere the XDP program kept them from this path, so one here is malformed.
  const elsewhere = (mode & FM_KERNEL_SEES_FRAMES) != 0 ? S_FRAME_NOT_OURS : S_FRAME_MALFORMED;
  if (type != ETHERTYPE_IPV4) {
    statInc(elsewhere);
    return;
  }
  const ip = f + l3;
  const vihl = <u32>load<u8>(ip + IP_VIHL);
  const ihl = (<usize>(vihl & 0x0f)) << 2;
  if (vihl >> 4 != 4 || ihl < IP_HLEN || l3 + ihl + UDP_HLEN > len) {
    statInc(S_FRAME_MALFORMED);
    return;
  }
  const total = <usize>bswap16(<u32>load<u16>(ip + IP_TOTAL_LEN));
  if (total < ihl + UDP_HLEN || l3 + total > len) {
    statInc(S_FRAME_MALFORMED);
    return;
  }
  if ((bswap16(<u32>load<u16>(ip + IP_FRAG)) & 0x3fff) != 0 || load<u8>(ip + IP_PROTO) != IPPROTO_UDP) {
    statInc(elsewhere);
    return;
  }
  if (finish(sumBytes(ip, ihl, 0)) != 0) {
    statInc(S_FRAME_BAD_CHECKSUM);
    return;
  }
  const udp = ip + ihl;
  const udpLen = <usize>bswap16(<u32>load<u16>(udp + UDP_LEN));
  if (udpLen < UDP_HLEN || udpLen > total - ihl) {
    statInc(S_FRAME_MALFORMED);
    return;
  }
  // UDP checksums are not checked: a veth sender with tx offload leaves them partial
  const src = load<u32>(ip + IP_SRC);
  const dst = load<u32>(ip + IP_DST);
  const sport = bswap16(<u32>load<u16>(udp + UDP_SPORT));
  const dport = bswap16(<u32>load<u16>(udp + UDP_DPORT));
  const payload = udp + UDP_HLEN;
  const payloadLen = udpLen - UDP_HLEN;
  if (backendFrom(src, sport) != 0xffffffff) {
    // another worker's reply (its own backend port) is not this core's to match
    if (dport != cfgU32(C_BACKEND_PORT)) statInc(S_FRAME_NOT_OURS);
    else if ((mode & FM_REPLIES_VIA_KERNEL) != 0) statInc(S_FRAME_REPLY_VIA_KERNEL);
    else handleBackend(payload, payloadLen, src, sport, false);
    return;
  }
  const listen = cfgU32(C_LISTEN_ADDR);
  if (dport != cfgU32(C_LISTEN_PORT) || (listen != 0 && dst != listen)) {
    statInc(S_FRAME_NOT_OURS);
    return;
  }
  // learned only from a datagram kvlb serves, and never for a backend's address: a forged
  // frame must not be able to redirect anyone's replies
  if (!admitDatagram(payload, payloadLen, src, sport, false)) return;
  if (!backendAddress(src)) neighLearn(src, f + ETH_SRC, port, vlan);
  serveClient(payload, payloadLen, src, sport);
}
