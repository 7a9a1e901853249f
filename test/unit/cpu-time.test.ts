// threadCpuSeconds must give each thread its own CPU time: a worker thread that spins until
// /proc/thread-self says it used a second shows a second, and the main thread, which waits, far less.
import test from "ava";
import { Worker } from "node:worker_threads";
import { threadCpuSeconds } from "../../host/bench/cpu-time.js";

test("threadCpuSeconds gives a spinning worker thread its own CPU time, and the waiting main thread its own", async (t) => {
  const before = threadCpuSeconds(process.pid);
  const worker = new Worker("const end = Date.now() + 1000; while (Date.now() < end);", { eval: true });
  await new Promise((resolve) => worker.once("exit", resolve));
  await new Promise((r) => setTimeout(r, 50));
  const after = threadCpuSeconds(process.pid);
  const main = (after.get(process.pid) ?? 0) - (before.get(process.pid) ?? 0);
  t.true(main < 0.5, `the main thread waited: ${main} s`);
  // the worker has exited, so its time shows only in the process's total; spin one that stays,
  // until the kernel says it used a second of CPU (on a busy machine a second of wall time is less)
  const spinner = new Worker(
    [
      "const { parentPort } = require('node:worker_threads');",
      "const { readFileSync } = require('node:fs');",
      "const own = () => { const f = readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' '); return (Number(f[11]) + Number(f[12])) / 100; };",
      "while (own() < 1) for (let i = 0; i < 1e6; i++);",
      "parentPort.postMessage('spun'); setInterval(() => {}, 1000);",
    ].join("\n"),
    { eval: true },
  );
  const startedAt = threadCpuSeconds(process.pid);
  await new Promise((resolve) => spinner.once("message", resolve));
  const spun = threadCpuSeconds(process.pid);
  await spinner.terminate();
  const busiest = Math.max(...[...spun].map(([tid, s]) => s - (startedAt.get(tid) ?? 0)));
  const mainAgain = (spun.get(process.pid) ?? 0) - (startedAt.get(process.pid) ?? 0);
  t.true(busiest > 0.95, `the spinning thread used ${busiest} s`);
  t.true(mainAgain < 0.5, `and the main thread ${mainAgain} s`);
});
