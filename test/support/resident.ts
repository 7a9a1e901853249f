// A process's resident memory, read from /proc: what a slow or hostile client makes kvlb hold.
import { readFileSync } from "node:fs";

/** The resident set of process `pid`, in bytes. */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) * 1024;
}
