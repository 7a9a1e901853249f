// The checks every exported call makes on its arguments: the core is ready, and an (address,
// length) pair lies in memory and names a valid key.
import { headerState, memoryBytes } from "./layout/header";
import { keyValid } from "./protocol/keys";
import { NONE } from "./util/hash-index";
import { HS_READY, E_NOT_READY, E_BOUNDS, E_KEY, E_NOT_FOUND } from "./abi/abi";

@inline export function ready(): bool {
  return headerState() == HS_READY;
}

@inline export function inMemory(ptr: usize, len: usize): bool {
  return ptr + len >= ptr && ptr + len <= memoryBytes();
}

// Validates a key argument: 0 when usable, else an error code.
export function keyError(ptr: usize, len: usize): i32 {
  if (!ready()) return E_NOT_READY;
  if (!inMemory(ptr, len)) return E_BOUNDS;
  return keyValid(ptr, len) ? 0 : E_KEY;
}

@inline export function found(i: u32): i32 {
  return i == NONE ? E_NOT_FOUND : <i32>i;
}
