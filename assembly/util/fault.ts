// Faults that only test modules carry (asc --use KVLB_FAULT=n; every real build says 0, and the
// compiler drops each check): what a module swap must refuse, or survive.
// @ts-ignore: a compile-time constant from asc --use KVLB_FAULT=n
export const FAULT: u32 = <u32>KVLB_FAULT;
export const FAULT_INIT: u32 = 1; // init() traps
export const FAULT_RESTORE: u32 = 2; // restore() traps
export const FAULT_PROCESS: u32 = 3; // a get of the key "kvlb-trap" traps in the burst
export const FAULT_MEMORY: u32 = 4; // the layout wants 256 MiB more than any config gives
export const FAULT_ABI: u32 = 5; // abi_version() is one ahead
export const FAULT_SEND: u32 = 6; // every datagram served also makes it send strays (proxy/client.ts)

// "kvlb-trap", the key that trips FAULT_PROCESS
export function isTrapKey(p: usize, len: usize): bool {
  return len == 9 && load<u64>(p) == 0x6172742d626c766b && load<u8>(p + 8) == 0x70;
}
