// The frame layer's exports: a burst of received frames, and the host's port and neighbour
// tables (written at start and whenever the kernel's neighbour table changes).
import { regionOffset, headerState, statInc } from "../layout/header";
import {
  HS_READY,
  E_NOT_READY,
  E_CONFIG,
  R_FRAME,
  FR_PORTS,
  MAX_FRAME_PORTS,
  P_MAC,
  P_ADDR,
  P_IFINDEX,
  S_BURST_REFUSED,
} from "../abi/abi";
import { outReset } from "../io/out-ring";
import { processFrames } from "./rx";
import { wakeParked } from "../proxy/parked-reads";
import { framesFinish } from "./tx";
import { framesOn, abandonHeld } from "../io/frame-pool";
import { portEntry, neighSetStatic, neighClear, neighFind, NO_NEIGH } from "./neigh";
import { arpAsk } from "./arp";
import { memoryBytes } from "../layout/header";
import { E_BOUNDS, R_RX } from "../abi/abi";

// One burst of frames described (struct xdp_desc) in the rx ring. The frames to send are in
// R_FTX (H_FTX_COUNT), the datagrams for the kernel's sockets in the out ring (H_OUT_COUNT).
export function process_frames(n: u32): i32 {
  if (headerState() != HS_READY) return E_NOT_READY;
  if (!framesOn()) {
    statInc(S_BURST_REFUSED);
    return E_CONFIG;
  }
  outReset();
  const r = processFrames(n);
  wakeParked();
  framesFinish();
  return r;
}

// Port i: its MAC (6 bytes at mac), IPv4 address (network order) and ifindex.
export function frame_port(i: u32, mac: usize, addr: u32, ifindex: u32): i32 {
  if (i >= <u32>MAX_FRAME_PORTS) return E_CONFIG;
  const e = portEntry(i);
  memory.copy(e + P_MAC, mac, 6);
  store<u32>(e + P_ADDR, addr);
  store<u32>(e + P_IFINDEX, ifindex);
  const count = regionOffset(R_FRAME) + FR_PORTS;
  if (load<u32>(count) <= i) store<u32>(count, i + 1);
  return 0;
}

export function neigh_static(addr: u32, mac: usize, port: u32, vlan: u32): i32 {
  if (port >= <u32>MAX_FRAME_PORTS) return E_CONFIG;
  return neighSetStatic(addr, mac, port, vlan) ? 0 : E_CONFIG;
}

// 1 when the neighbour table has a next hop for addr (IPv4, network order), learned or static.
export function neigh_known(addr: u32): u32 {
  return framesOn() && neighFind(addr) != NO_NEIGH ? 1 : 0;
}

export function neigh_clear(): void {
  neighClear();
}

// The last burst trapped and will be run again (by another module): forget what it queued,
// give back the frames it built in, and let go of the n frames it received.
export function burst_abandon(n: u32): i32 {
  if (headerState() != HS_READY) return E_NOT_READY;
  outReset();
  if (framesOn()) abandonHeld(regionOffset(R_RX), n);
  return 0;
}

// ARP requests for n IPv4 addresses (u32, network order, at list) on every port, queued in
// R_FTX; returns how many frames. For ports no kernel serves (FM_ANSWER_ARP).
export function arp_ask(list: usize, n: u32): i32 {
  if (headerState() != HS_READY) return E_NOT_READY;
  if (!framesOn()) return E_CONFIG;
  if (list + ((<usize>n) << 2) > memoryBytes()) return E_BOUNDS;
  outReset();
  const queued = arpAsk(list, n);
  framesFinish();
  return <i32>queued;
}
