// Stopping a process (SIGSTOP) as a test means it: a signal is delivered, not done, when kill()
// returns, and until every thread of the process is stopped, memcached may still answer.
import { readdirSync, readFileSync } from "node:fs";
import type { ChildProcess } from "node:child_process";
import { until } from "./until.js";

function allThreadsStopped(pid: number): boolean {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.every((tid) => /^\d+ \(.*\) T /.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8")));
}

/** Sends SIGSTOP and resolves once the kernel shows every thread of `child` stopped. */
export async function stopProcess(child: ChildProcess | undefined): Promise<void> {
  const pid = child?.pid;
  if (pid === undefined) throw new Error("stopProcess: the process has no pid (it never started)");
  child?.kill("SIGSTOP");
  await until(`process ${pid} is stopped`, () => allThreadsStopped(pid));
}
