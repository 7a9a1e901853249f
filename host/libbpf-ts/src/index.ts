// libbpf-ts: TypeScript over libbpf and libxdp.
export { BpfObject, BpfProgram, BpfMap, TypedMap, MapUpdate } from "./object.js";
export { LibbpfError } from "./errors.js";
export { AttachedProgram } from "./attached.js";
export { programHolders } from "./holders.js";
export { u8, u16, be16, u32, u64, bytes, type Codec } from "./codecs.js";
export {
  attachXdp,
  detachXdp,
  queryXdp,
  ifIndex,
  progTestRun,
  XdpAction,
  xdpActionName,
  type XdpMode,
  type XdpAttachment,
  type TestRun,
} from "./xdp.js";
export {
  XskSet,
  XDP_DESC_BYTES,
  POOL_HEADER_BYTES,
  type UmemLayout,
  type XskOptions,
  type XskBind,
  type XskSocketInfo,
  type XskStats,
} from "./xsk.js";
