// Which processes hold a BPF program open: every file descriptor that refers to it shows its
// id in /proc/PID/fdinfo as "prog_id:". A program attached to an interface that no process
// holds was left by a loader that is gone.
import { readdirSync, readFileSync } from "node:fs";

function readOr(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return ""; // the process or its descriptor went away while we looked
  }
}

function listOr(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}

/** The PIDs whose descriptors refer to program `programId` (this process's included). */
export function programHolders(programId: number): number[] {
  const want = new RegExp(`^prog_id:\\s+${programId}$`, "m");
  const pids: number[] = [];
  for (const entry of listOr("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    for (const fd of listOr(`/proc/${entry}/fdinfo`)) {
      if (want.test(readOr(`/proc/${entry}/fdinfo/${fd}`))) {
        pids.push(Number(entry));
        break;
      }
    }
  }
  return pids;
}
