import * as abi from "../../assembly/shared/abi.js";

const messages = new Map<number, string>([
  [abi.E_CONFIG, "the core refused its config"],
  [abi.E_MEMORY, "memory is smaller than the layout needs"],
  [abi.E_NOT_READY, "the core is not initialised"],
  [abi.E_BURST, "burst larger than the rx ring"],
  [abi.E_KEY, "key must be 1 to 250 bytes with no space, CR, LF or NUL"],
  [abi.E_TOO_LARGE, "value does not fit the cache"],
  [abi.E_NOT_FOUND, "not found"],
  [abi.E_BOUNDS, "address outside the core's memory"],
  [abi.E_WEIGHT, "weight must be at least 1"],
  [abi.E_KIND, "unknown descriptor kind"],
  [abi.E_SNAP_MAGIC, "not a kvlb snapshot"],
  [abi.E_SNAP_FORMAT, "snapshot format not supported by this core"],
  [abi.E_SNAP_CHECKSUM, "snapshot checksum mismatch (corrupt)"],
  [abi.E_SNAP_MALFORMED, "snapshot is malformed"],
  [abi.E_SNAP_CAPACITY, "snapshot holds more detector entries than this core's capacity"],
  [abi.E_IO, "the IO region is too small"],
  [abi.E_STATE_HEADER, "header is damaged"],
  [abi.E_STATE_DETECT, "detector table is inconsistent"],
  [abi.E_STATE_L1, "L1 table is inconsistent"],
  [abi.E_STATE_L2, "L2 skip list is inconsistent"],
]);

export function describeCoreError(code: number): string {
  return messages.get(code) ?? `core error ${code}`;
}

/** A refusal from the core: `code` is the ABI's negative error code. */
export class CoreError extends Error {
  constructor(
    readonly code: number,
    context: string,
  ) {
    super(`${context}: ${describeCoreError(code)}`);
    this.name = "CoreError";
  }
}
