// CPU time from /proc, for benchmarks whose load generator shares the machine: when the sender
// saturates its CPU first, replies per second stop telling the arms apart, but the CPU each
// server spends per reply still does.
import { readFileSync, readdirSync } from "node:fs";

const TICKS_PER_SECOND = 100; // USER_HZ: 100 on every Linux ABI that Node runs on

/** User plus system CPU seconds that these processes have used (gone ones count 0). */
export function processCpuSeconds(pids: number[]): number {
  return pids.reduce((a, pid) => a + statSeconds(`/proc/${pid}/stat`), 0);
}

// utime + stime of a stat file, in seconds; 0 once it is gone.
function statSeconds(path: string): number {
  try {
    // comm (field 2) may hold spaces, so count fields from its closing parenthesis
    const stat = readFileSync(path, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime, stime
  } catch {
    return 0; // exited
  }
}

/** CPU seconds the whole machine has spent busy (all but idle and iowait), over all CPUs. */
export function machineBusySeconds(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
  return (total - idle) / TICKS_PER_SECOND;
}

/** CPU seconds each thread of a process has used, by thread id. */
export function threadCpuSeconds(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out; // exited
  }
  // /proc/<tid>/stat holds the whole process's times; a thread's own are under task/
  for (const tid of tids) out.set(Number(tid), statSeconds(`/proc/${pid}/task/${tid}/stat`));
  return out;
}

/** The largest share of one CPU any thread of `pid` used between two readings `seconds` apart. */
export function busiestThread(before: Map<number, number>, after: Map<number, number>, seconds: number): number {
  let most = 0;
  for (const [tid, s] of after) most = Math.max(most, (s - (before.get(tid) ?? 0)) / seconds);
  return most;
}

/** CPU seconds the hypervisor took from this machine (steal), over all CPUs. */
export function machineStealSeconds(): number {
  const cpu = readFileSync("/proc/stat", "utf8").split("\n")[0]?.trim().split(/\s+/).slice(1).map(Number) ?? [];
  return (cpu[7] ?? 0) / TICKS_PER_SECOND;
}
