// Errors from libbpf and the kernel, with the errno kept and a sentence a person can act on.
const hints: Record<number, string> = {
  1: "needs root (CAP_BPF and CAP_NET_ADMIN)", // EPERM
  13: "needs root (CAP_BPF and CAP_NET_ADMIN)", // EACCES
  2: "no such object", // ENOENT
  16: "another XDP program is attached in the other mode; detach it first", // EBUSY
  17: "an XDP program is already attached", // EEXIST
  19: "no such interface", // ENODEV
  22: "the kernel refused the arguments", // EINVAL
  95: "this driver or mode does not support it", // EOPNOTSUPP
  524: "this driver or mode does not support it", // ENOTSUPP
};

export class LibbpfError extends Error {
  override readonly name = "LibbpfError";

  constructor(
    message: string,
    readonly errno: number,
    /** libbpf's own messages for the failed call (the verifier log of a failed load). */
    readonly log = "",
  ) {
    super(message);
  }
}

interface RawError {
  message: string;
  errno?: number;
  op?: string;
  log?: string;
}

/** Rewords an addon error as `what: op: strerror (hint)`. */
export function wrap<T>(what: string, call: () => T): T {
  try {
    return call();
  } catch (e) {
    const raw = e as RawError;
    if (typeof raw.errno !== "number") throw e;
    const hint = hints[raw.errno];
    const log = raw.log?.trim() ?? "";
    const lastLines = log ? `\n${log.split("\n").slice(-8).join("\n")}` : "";
    throw new LibbpfError(`${what}: ${raw.message}${hint ? ` (${hint})` : ""}${lastLines}`, raw.errno, log);
  }
}
