// ARP for ports that no kernel serves (a NIC bound to DPDK, FM_ANSWER_ARP): a request for a
// port's own address is answered in its own frame, rewritten in place; a reply, or a request,
// teaches the neighbour table where its sender is; and the host has the core ask for the
// backends' addresses on every port, since only the port they sit behind will answer.
import { regionOffset, regionSize, statInc } from "../layout/header";
import {
  R_FTX,
  HEADER_BASE,
  H_FTX_COUNT,
  XDESC_BYTES,
  XD_ADDR,
  XD_LEN,
  XD_PORT,
  P_MAC,
  P_ADDR,
  S_ARP_ANSWERED,
  S_ARP_LEARNED,
  S_ARP_ASKED,
} from "../abi/abi";
import { umemBase, frameAt, frameAlloc, setFrameState, SENDING, NO_FRAME } from "../io/frame-pool";
import { neighLearn, portEntry, portCount } from "./neigh";
import { bswap16 } from "./checksum";
import {
  ETH_DST,
  ETH_SRC,
  ETH_TYPE,
  ETH_HLEN,
  MAC_LEN,
  ETHERTYPE_IPV4,
  ETHERTYPE_ARP,
  ARP_HTYPE,
  ARP_PTYPE,
  ARP_HLEN,
  ARP_PLEN,
  ARP_OP,
  ARP_SHA,
  ARP_SPA,
  ARP_THA,
  ARP_TPA,
  ARP_BYTES,
  ARP_HW_ETHERNET,
  FRAME_MIN,
} from "./headers";

const OP_REQUEST: u32 = 1;
const OP_REPLY: u32 = 2;

@inline function be16(p: usize, v: u32): void {
  store<u16>(p, <u16>bswap16(v));
}

// Queues a frame already in the UMEM for transmission on port; false when the tx list is full.
function queue(start: usize, len: usize, port: u32): bool {
  const n = load<u32>(HEADER_BASE + H_FTX_COUNT);
  if (<usize>(n + 1) * XDESC_BYTES > regionSize(R_FTX)) return false;
  const frame = frameAt(start);
  if (frame == NO_FRAME) return false;
  const x = regionOffset(R_FTX) + <usize>n * XDESC_BYTES;
  store<u64>(x + XD_ADDR, <u64>(start - umemBase()));
  store<u32>(x + XD_LEN, <u32>len);
  store<u32>(x + XD_PORT, port);
  store<u32>(HEADER_BASE + H_FTX_COUNT, n + 1);
  setFrameState(frame, SENDING);
  return true;
}

// Writes an ARP body at a: operation, sender (MAC at sha, IPv4 spa), target (MAC at tha, IPv4 tpa).
function arpBody(a: usize, op: u32, sha: usize, spa: u32, tha: usize, tpa: u32): void {
  be16(a + ARP_HTYPE, ARP_HW_ETHERNET);
  be16(a + ARP_PTYPE, ETHERTYPE_IPV4);
  store<u8>(a + ARP_HLEN, <u8>MAC_LEN);
  store<u8>(a + ARP_PLEN, 4);
  be16(a + ARP_OP, op);
  memory.copy(a + ARP_SHA, sha, MAC_LEN);
  store<u32>(a + ARP_SPA, spa);
  if (tha == 0) memory.fill(a + ARP_THA, 0, MAC_LEN);
  else memory.copy(a + ARP_THA, tha, MAC_LEN);
  store<u32>(a + ARP_TPA, tpa);
}

// An ARP frame f (Ethernet header at f, ARP at a) that came in on port.
export function arpIn(f: usize, a: usize, len: usize, port: u32, vlan: u32): void {
  if (
    a + ARP_BYTES > f + len ||
    bswap16(<u32>load<u16>(a + ARP_HTYPE)) != ARP_HW_ETHERNET ||
    bswap16(<u32>load<u16>(a + ARP_PTYPE)) != ETHERTYPE_IPV4 ||
    load<u8>(a + ARP_HLEN) != <u8>MAC_LEN ||
    load<u8>(a + ARP_PLEN) != 4 ||
    port >= portCount()
  )
    return;
  const op = bswap16(<u32>load<u16>(a + ARP_OP));
  const spa = load<u32>(a + ARP_SPA);
  const tpa = load<u32>(a + ARP_TPA);
  if (spa != 0) {
    neighLearn(spa, a + ARP_SHA, port, vlan);
    statInc(S_ARP_LEARNED);
  }
  const pe = portEntry(port);
  if (op != OP_REQUEST || tpa != load<u32>(pe + P_ADDR) || tpa == 0) return;
  // the answer goes back the way the question came, in the same frame
  memory.copy(f + ETH_DST, f + ETH_SRC, MAC_LEN);
  memory.copy(f + ETH_SRC, pe + P_MAC, MAC_LEN);
  memory.copy(a + ARP_THA, a + ARP_SHA, MAC_LEN);
  store<u32>(a + ARP_TPA, spa);
  memory.copy(a + ARP_SHA, pe + P_MAC, MAC_LEN);
  store<u32>(a + ARP_SPA, tpa);
  be16(a + ARP_OP, OP_REPLY);
  const l = a + ARP_BYTES - f;
  if (queue(f, l < FRAME_MIN ? FRAME_MIN : l, port)) statInc(S_ARP_ANSWERED);
}

// Broadcasts a request for each of n IPv4 addresses (network order, u32 at list) on every port.
// Returns the frames queued.
export function arpAsk(list: usize, n: u32): u32 {
  let queued: u32 = 0;
  const ports = portCount();
  for (let i: u32 = 0; i < n; i++) {
    const target = load<u32>(list + ((<usize>i) << 2));
    for (let p: u32 = 0; p < ports; p++) {
      const f = frameAlloc();
      if (f == 0) return queued;
      const pe = portEntry(p);
      memory.fill(f + ETH_DST, 0xff, MAC_LEN);
      memory.copy(f + ETH_SRC, pe + P_MAC, MAC_LEN);
      be16(f + ETH_TYPE, ETHERTYPE_ARP);
      arpBody(f + ETH_HLEN, OP_REQUEST, pe + P_MAC, load<u32>(pe + P_ADDR), 0, target);
      memory.fill(f + ETH_HLEN + ARP_BYTES, 0, FRAME_MIN - ETH_HLEN - ARP_BYTES);
      if (!queue(f, FRAME_MIN, p)) return queued;
      queued++;
      statInc(S_ARP_ASKED);
    }
  }
  return queued;
}
