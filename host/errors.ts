// The errors kvlb shows an operator. Each has a stable code, and the code, never the message,
// tells them apart: the CLI maps codes to exit statuses, the admin API to HTTP statuses, and a
// message can be reworded freely. The native addons set the same codes on what they throw
// (udp_batch.cc), and a worker thread's failure carries its code across (worker/run-worker.ts).
import { LibbpfError } from "libbpf-ts";
import * as abi from "../assembly/abi/abi.js";

export const ERROR_CODES = [
  "KVLB_USAGE", // a flag or command the CLI does not know, or a value it cannot parse
  "KVLB_CONFIG", // a setting that is wrong: in the config file, a flag, or an endpoint
  "KVLB_ADDRESS", // an address kvlb cannot bind: in use, not this machine's, a privileged port
  "KVLB_NOT_BUILT", // a part scripts/setup builds is missing
  "KVLB_MODULE", // a core module that cannot be loaded or swapped in
  "KVLB_SWAP_BUSY", // a swap asked for while another runs
  "KVLB_CORE", // the core refused a call (its ABI error codes)
  "KVLB_ADMIN", // a running kvlb's admin API did not answer as one
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class KvlbError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = "KvlbError";
  }
}

export class UsageError extends KvlbError {
  constructor(message: string) {
    super("KVLB_USAGE", message);
  }
}

export class ConfigError extends KvlbError {
  constructor(message: string) {
    super("KVLB_CONFIG", message);
  }
}

export class ModuleError extends KvlbError {
  constructor(message: string, code: "KVLB_MODULE" | "KVLB_SWAP_BUSY" = "KVLB_MODULE") {
    super(code, message);
  }
}

/** A swap was asked for while another runs. */
export class SwapBusyError extends ModuleError {
  constructor() {
    super("a swap is already under way; try again when it is done", "KVLB_SWAP_BUSY");
  }
}

const coreMessages = new Map<number, string>([
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
  return coreMessages.get(code) ?? `core error ${code}`;
}

/** A refusal from the core: `coreCode` is the ABI's negative error code. */
export class CoreError extends KvlbError {
  constructor(
    readonly coreCode: number,
    context: string,
  ) {
    super("KVLB_CORE", `${context}: ${describeCoreError(coreCode)}`);
  }
}

/** The code an error carries, whether it is one of ours or came from an addon or a worker. */
export function errorCode(e: unknown): ErrorCode | undefined {
  if (e instanceof KvlbError) return e.code;
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return ERROR_CODES.find((c) => c === code);
}

/**
 * The exit status for an error that ends a command: 2 for what an operator or the machine
 * refused (ours, node's argument parser, the kernel through libbpf-ts), 1 for a bug.
 */
export function exitStatus(e: unknown): 1 | 2 {
  if (errorCode(e) !== undefined || e instanceof LibbpfError) return 2;
  const nodeCode = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof nodeCode === "string" && nodeCode.startsWith("ERR_PARSE_ARGS") ? 2 : 1;
}
