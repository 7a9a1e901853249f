// The demo's backends held to a share of a CPU each (a cgroup), so that, as in a loaded cluster,
// the server that owns the hottest keys saturates first. Where this machine cannot cap (no cgroup
// cpu controller, not root), the demo says so and runs uncapped.
import { CpuCap } from "../testbed/cpu-cap.js";
import { KvlbError } from "../errors.js";

type Print = (line: string) => void;

/** Caps each process to `percent` of a CPU; the caps made, none when capping is not possible. */
export function capBackends(pids: readonly number[], percent: number, print: Print): CpuCap[] {
  if (percent <= 0) return [];
  const caps: CpuCap[] = [];
  try {
    pids.forEach((pid, i) => {
      const cap = new CpuCap(`kvlb-demo-${process.pid}-${i}`, percent);
      caps.push(cap);
      cap.add(pid);
    });
    print(`each memcached is held to ${percent}% of a CPU (a cgroup), as a loaded server would be`);
    return caps;
  } catch (e) {
    releaseCaps(caps);
    const why = e instanceof KvlbError ? e.message : (e as Error).message.split("\n")[0];
    print(`the backends run uncapped (${why}): the cache's effect on throughput will look small`);
    return [];
  }
}

export function releaseCaps(caps: readonly CpuCap[]): void {
  for (const cap of caps) {
    try {
      cap.remove();
    } catch {
      // its process already exited and the cgroup went with the demo's cleanup
    }
  }
}
