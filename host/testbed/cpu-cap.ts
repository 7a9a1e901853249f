// A CPU cap for a benchmark's backends: a cgroup per process with a CFS quota, so that the
// backends, not kvlb or the load generator, are what saturates. Each cap reads back how often the
// kernel throttled its process: the evidence that it was the limit. cgroup v1's cpu controller
// (cpu.cfs_quota_us, where it is mounted, as on hybrid hosts) or cgroup v2's (cpu.max, the
// unified hierarchy of a systemd machine such as Debian 12).
import { mkdirSync, writeFileSync, readFileSync, rmdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { KvlbError } from "../errors.js";

const V1_ROOT = "/sys/fs/cgroup/cpu";
const V2_ROOT = "/sys/fs/cgroup";

interface Hierarchy {
  root: string;
  /** How an operator would name it: the version and the file the quota goes in. */
  name: string;
  /** Writes a quota of `quotaUs` per `periodUs` into the cgroup at dir. */
  limit(dir: string, quotaUs: number, periodUs: number): void;
}

const v1: Hierarchy = {
  root: V1_ROOT,
  name: "cgroup v1 (cpu.cfs_quota_us)",
  limit(dir, quotaUs, periodUs) {
    writeFileSync(join(dir, "cpu.cfs_period_us"), String(periodUs));
    writeFileSync(join(dir, "cpu.cfs_quota_us"), String(quotaUs));
  },
};

const v2: Hierarchy = {
  root: V2_ROOT,
  name: "cgroup v2 (cpu.max)",
  limit(dir, quotaUs, periodUs) {
    writeFileSync(join(dir, "cpu.max"), `${quotaUs} ${periodUs}`);
  },
};

/** The hierarchy whose cpu controller this machine offers, or why none. */
function cpuHierarchy(): Hierarchy | string {
  if (existsSync(join(V1_ROOT, "cpu.cfs_quota_us"))) return v1;
  const controllers = join(V2_ROOT, "cgroup.controllers");
  if (!existsSync(controllers)) return `${V2_ROOT}: no cgroup cpu controller (neither v1's cpu nor v2's)`;
  if (!readFileSync(controllers, "utf8").split(/\s+/).includes("cpu")) {
    return `${V2_ROOT}: cgroup v2 without its cpu controller (cgroup.controllers lacks cpu)`;
  }
  const subtree = join(V2_ROOT, "cgroup.subtree_control");
  // the root's children get a cpu.max only once the root hands them the controller
  if (!readFileSync(subtree, "utf8").split(/\s+/).includes("cpu")) writeFileSync(subtree, "+cpu");
  return v2;
}

export interface Throttling {
  /** CFS periods in which the process ran. */
  periods: number;
  /** Periods in which it used its whole quota and was made to wait. */
  throttled: number;
}

export class CpuCap {
  private readonly dir: string;
  private readonly hierarchy: Hierarchy;

  /** The cgroup version and file that hold the cap. */
  get mechanism(): string {
    return this.hierarchy.name;
  }

  /** A cgroup holding its processes to `percent` of one CPU, enforced every `periodUs`. */
  constructor(name: string, percent: number, periodUs = 50_000) {
    let found: Hierarchy | string;
    try {
      found = cpuHierarchy();
    } catch (e) {
      found = `${V2_ROOT}: cannot hand the cpu controller to new cgroups (${(e as NodeJS.ErrnoException).code ?? "error"}); run as root`;
    }
    if (typeof found === "string") {
      throw new KvlbError("KVLB_CONFIG", `${found}; capping the backends' CPU needs one (and root)`);
    }
    this.hierarchy = found;
    const quota = Math.round((periodUs * percent) / 100);
    if (quota < 1000) {
      throw new KvlbError(
        "KVLB_USAGE",
        `a ${percent}% cap over ${periodUs} µs is a ${quota} µs quota; the kernel takes 1000 µs at least`,
      );
    }
    this.dir = join(found.root, name);
    try {
      mkdirSync(this.dir, { recursive: true });
      found.limit(this.dir, quota, periodUs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new KvlbError(
        "KVLB_CONFIG",
        `${this.dir}: cannot make a CPU cap (${code ?? "error"})${code === "EACCES" || code === "EPERM" ? "; run as root" : ""}`,
      );
    }
  }

  /** Puts a running process (every thread of it) under the cap. */
  add(pid: number): void {
    writeFileSync(join(this.dir, "cgroup.procs"), String(pid));
  }

  throttling(): Throttling {
    const stat = readFileSync(join(this.dir, "cpu.stat"), "utf8");
    const field = (name: string): number => Number(new RegExp(`^${name} (\\d+)`, "m").exec(stat)?.[1] ?? 0);
    return { periods: field("nr_periods"), throttled: field("nr_throttled") };
  }

  /** Moves any process left back to the root group and removes the cgroup. */
  remove(): void {
    if (!existsSync(this.dir)) return;
    for (const pid of readFileSync(join(this.dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) {
      try {
        writeFileSync(join(this.hierarchy.root, "cgroup.procs"), pid);
      } catch {
        // the process exited meanwhile
      }
    }
    rmdirSync(this.dir);
  }
}
