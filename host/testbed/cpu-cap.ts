// A CPU cap for a benchmark's backends: a cgroup (v1 cpu controller) per process, with a CFS
// quota, so that the backends, not kvlb or the load generator, are what saturates. Each cap
// reads back how often the kernel throttled its process: the evidence that it was the limit.
import { mkdirSync, writeFileSync, readFileSync, rmdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { KvlbError } from "../errors.js";

const ROOT = "/sys/fs/cgroup/cpu";

export interface Throttling {
  /** CFS periods in which the process ran. */
  periods: number;
  /** Periods in which it used its whole quota and was made to wait. */
  throttled: number;
}

export class CpuCap {
  private readonly dir: string;

  /** A cgroup holding its processes to `percent` of one CPU, enforced every `periodUs`. */
  constructor(name: string, percent: number, periodUs = 50_000) {
    if (!existsSync(join(ROOT, "cpu.cfs_quota_us"))) {
      throw new KvlbError(
        "KVLB_CONFIG",
        `${ROOT}: no cgroup v1 cpu controller here; capping the backends' CPU needs it (and root)`,
      );
    }
    const quota = Math.round((periodUs * percent) / 100);
    if (quota < 1000) {
      throw new KvlbError(
        "KVLB_USAGE",
        `a ${percent}% cap over ${periodUs} µs is a ${quota} µs quota; the kernel takes 1000 µs at least`,
      );
    }
    this.dir = join(ROOT, name);
    try {
      mkdirSync(this.dir, { recursive: true });
      writeFileSync(join(this.dir, "cpu.cfs_period_us"), String(periodUs));
      writeFileSync(join(this.dir, "cpu.cfs_quota_us"), String(quota));
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
        writeFileSync(join(ROOT, "cgroup.procs"), pid);
      } catch {
        // the process exited meanwhile
      }
    }
    rmdirSync(this.dir);
  }
}
