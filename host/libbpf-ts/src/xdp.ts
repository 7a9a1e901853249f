// Attaching XDP programs to interfaces, and running a program on a crafted frame.
import { native } from "./native.js";
import { wrap, LibbpfError } from "./errors.js";
import type { BpfProgram } from "./object.js";

export type XdpMode = "native" | "generic" | "auto";

export const XdpAction = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;
export const xdpActionName = (v: number): string =>
  Object.entries(XdpAction).find(([, n]) => n === v)?.[0] ?? `unknown(${v})`;

const FLAGS = { generic: 2, native: 4 } as const; // XDP_FLAGS_SKB_MODE, XDP_FLAGS_DRV_MODE

export interface XdpAttachment {
  ifname: string;
  ifindex: number;
  mode: "native" | "generic";
  programId: number;
  programName: string;
}

// Programs this process attached: only these may be replaced without `force`.
const ours = new Set<number>();

export function ifIndex(ifname: string): number {
  const i = native().ifIndex(ifname);
  if (i === 0) throw new LibbpfError(`${ifname}: no such interface`, 19);
  return i;
}

/** What is attached to an interface, or undefined when nothing is. */
export function queryXdp(ifname: string): XdpAttachment | undefined {
  const ifindex = ifIndex(ifname);
  const q = wrap(ifname, () => native().xdpQuery(ifindex));
  const mode = q.driver !== 0 ? "native" : q.generic !== 0 ? "generic" : undefined;
  if (!mode) return undefined;
  const programId = mode === "native" ? q.driver : q.generic;
  const name = wrap(ifname, () => native().progInfo(programId)).name;
  return { ifname, ifindex, mode, programId, programName: name };
}

/**
 * Attaches `program` to `ifname`. "auto" tries native (driver) mode and falls back to generic.
 * A program this process did not attach is replaced only with `force`.
 */
export function attachXdp(
  ifname: string,
  program: BpfProgram,
  options: { mode?: XdpMode; force?: boolean } = {},
): XdpAttachment {
  const mode = options.mode ?? "auto";
  const ifindex = ifIndex(ifname);
  const present = queryXdp(ifname);
  if (present && !ours.has(present.programId) && !options.force) {
    throw new LibbpfError(
      `${ifname}: XDP program '${present.programName}' (id ${present.programId}) is already attached in ${present.mode} mode; ` +
        `detach it, or force the replacement`,
      17,
    );
  }
  const tries: ("native" | "generic")[] = mode === "auto" ? ["native", "generic"] : [mode];
  let last: unknown;
  for (const m of tries) {
    // Replacing works only within one mode; a program in the other mode must go first.
    if (present && present.mode !== m) detachXdp(ifname);
    const expected = present && present.mode === m ? present.programId : 0;
    try {
      wrap(`${ifname}: attach ${program.name} (${m})`, () =>
        native().xdpAttach(ifindex, program.fd, FLAGS[m], expected),
      );
      const now = queryXdp(ifname);
      if (!now) throw new LibbpfError(`${ifname}: attached, but the kernel reports no program`, 5);
      ours.add(now.programId);
      return now;
    } catch (e) {
      last = e;
      if (!(e instanceof LibbpfError) || mode !== "auto") throw e;
    }
  }
  throw last;
}

/** Detaches whatever XDP program is on `ifname`; false when there was none. */
export function detachXdp(ifname: string): boolean {
  const present = queryXdp(ifname);
  if (!present) return false;
  wrap(`${ifname}: detach`, () => native().xdpDetach(present.ifindex, FLAGS[present.mode]));
  ours.delete(present.programId);
  return true;
}

export interface TestRun {
  verdict: number;
  verdictName: string;
  /** The frame as the program left it. */
  data: Uint8Array;
  /** Mean nanoseconds per run, as the kernel measured it. */
  durationNs: number;
}

/** Runs an XDP program on `frame` in the kernel (BPF_PROG_TEST_RUN), `repeat` times. */
export function progTestRun(program: BpfProgram, frame: Uint8Array, repeat = 1): TestRun {
  const r = wrap(`test run of ${program.name}`, () => native().progTestRun(program.fd, frame, repeat));
  return { verdict: r.retval, verdictName: xdpActionName(r.retval), data: r.data, durationNs: r.durationNs };
}
