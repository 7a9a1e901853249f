// Where the detector and the two cache layers live (from the region table).
import { regionOffset } from "./header";
import { R_DETECT, R_L1, R_L2 } from "../abi/abi";

@inline export function detector(): usize {
  return regionOffset(R_DETECT);
}
@inline export function l1(): usize {
  return regionOffset(R_L1);
}
@inline export function l2(): usize {
  return regionOffset(R_L2);
}
