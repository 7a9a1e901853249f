// Accessors for the header, the config block, the stats block and the region table. Every
// piece of state is found through these, never through a module global.
import { HEADER_BASE, CONFIG_BASE, STATS_BASE, H_REGIONS, H_STATE, H_CLOCK, C_NAT_TIMEOUT_MS } from "../abi/abi";

@inline export function regionOffset(region: u32): usize {
  return <usize>load<u32>(HEADER_BASE + H_REGIONS + (region << 3));
}

@inline export function regionSize(region: u32): usize {
  return <usize>load<u32>(HEADER_BASE + H_REGIONS + (region << 3) + 4);
}

@inline export function setRegion(region: u32, offset: usize, size: usize): void {
  store<u32>(HEADER_BASE + H_REGIONS + (region << 3), <u32>offset);
  store<u32>(HEADER_BASE + H_REGIONS + (region << 3) + 4, <u32>size);
}

@inline export function headerState(): u32 {
  return load<u32>(HEADER_BASE + H_STATE);
}

@inline export function clock(): u64 {
  return load<u64>(HEADER_BASE + H_CLOCK);
}

@inline export function cfgU32(field: u32): u32 {
  return load<u32>(CONFIG_BASE + field);
}

// How long a backend has to answer a request, in the clock's nanoseconds.
@inline export function requestTimeout(): u64 {
  return <u64>cfgU32(C_NAT_TIMEOUT_MS) * 1000000;
}

@inline export function cfgU64(field: u32): u64 {
  return load<u64>(CONFIG_BASE + field);
}

@inline export function cfgF64(field: u32): f64 {
  return load<f64>(CONFIG_BASE + field);
}

@inline export function statAdd(index: u32, amount: u64): void {
  const p = STATS_BASE + (index << 3);
  store<u64>(p, load<u64>(p) + amount);
}

@inline export function statInc(index: u32): void {
  statAdd(index, 1);
}

@inline export function memoryBytes(): usize {
  return (<usize>memory.size()) << 16;
}

@inline export function align8(n: usize): usize {
  return (n + 7) & ~(<usize>7);
}
