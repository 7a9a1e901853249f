// Next hops. The port table holds each AF_XDP port's MAC and IPv4 address; the neighbour
// table maps an IPv4 address to the port and MAC to send to. The host writes entries from the
// kernel's neighbour table (static); a client's entry is also learned from its own frames, so
// that its reply needs no lookup the kernel never made.
import { regionOffset } from "../layout/header";
import {
  R_FRAME,
  FR_PORTS,
  FR_PORT_TABLE,
  PORT_BYTES,
  FR_NEIGH,
  NEIGH_SLOTS,
  NEIGH_BYTES,
  NB_ADDR,
  NB_MAC,
  NB_PORT,
  NB_STATE,
  NB_VLAN,
  NBS_FREE,
  NBS_LEARNED,
  NBS_STATIC,
} from "../abi/abi";

export const NO_NEIGH: usize = 0;

@inline export function portEntry(port: u32): usize {
  return regionOffset(R_FRAME) + FR_PORT_TABLE + <usize>port * PORT_BYTES;
}

@inline export function portCount(): u32 {
  return load<u32>(regionOffset(R_FRAME) + FR_PORTS);
}

@inline function slot(i: u32): usize {
  return regionOffset(R_FRAME) + FR_NEIGH + <usize>(i & (<u32>NEIGH_SLOTS - 1)) * NEIGH_BYTES;
}

@inline function home(addr: u32): u32 {
  return (addr * 0x9e3779b1) >> 22; // 10 bits: NEIGH_SLOTS
}

// The entry for addr, or NO_NEIGH. Probing stops at a free slot; entries are never removed
// one by one (the host rewrites the whole table), so a probe chain never breaks.
export function neighFind(addr: u32): usize {
  let i = home(addr);
  for (let k: u32 = 0; k < <u32>NEIGH_SLOTS; k++, i++) {
    const e = slot(i);
    const state = load<u8>(e + NB_STATE);
    if (state == NBS_FREE) return NO_NEIGH;
    if (load<u32>(e + NB_ADDR) == addr) return e;
  }
  return NO_NEIGH;
}

// Remembers where a client's frame came from. A static entry is the kernel's word and stays.
export function neighLearn(addr: u32, mac: usize, port: u32, vlan: u32): void {
  let i = home(addr);
  for (let k: u32 = 0; k < <u32>NEIGH_SLOTS; k++, i++) {
    const e = slot(i);
    const state = load<u8>(e + NB_STATE);
    if (state == NBS_FREE || load<u32>(e + NB_ADDR) == addr) {
      if (state == NBS_STATIC) return;
      if (
        state == NBS_LEARNED &&
        load<u8>(e + NB_PORT) == <u8>port &&
        load<u32>(e + NB_MAC) == load<u32>(mac) &&
        load<u16>(e + NB_MAC + 4) == load<u16>(mac + 4) &&
        <u32>load<u16>(e + NB_VLAN) == vlan
      )
        return;
      store<u32>(e + NB_ADDR, addr);
      memory.copy(e + NB_MAC, mac, 6);
      store<u8>(e + NB_PORT, <u8>port);
      store<u16>(e + NB_VLAN, <u16>vlan);
      store<u8>(e + NB_STATE, NBS_LEARNED);
      return;
    }
  }
  // the table is full of other addresses: the reply will go through the kernel
}

// The host's entry for addr (from the kernel's neighbour table); it replaces a learned one.
export function neighSetStatic(addr: u32, mac: usize, port: u32, vlan: u32): bool {
  let i = home(addr);
  for (let k: u32 = 0; k < <u32>NEIGH_SLOTS; k++, i++) {
    const e = slot(i);
    if (load<u8>(e + NB_STATE) == NBS_FREE || load<u32>(e + NB_ADDR) == addr) {
      store<u32>(e + NB_ADDR, addr);
      memory.copy(e + NB_MAC, mac, 6);
      store<u8>(e + NB_PORT, <u8>port);
      store<u16>(e + NB_VLAN, <u16>vlan);
      store<u8>(e + NB_STATE, NBS_STATIC);
      return true;
    }
  }
  return false;
}

export function neighClear(): void {
  memory.fill(regionOffset(R_FRAME) + FR_NEIGH, 0, <usize>NEIGH_SLOTS * NEIGH_BYTES);
}
