// The README's main job, shortened: it must finish cleanly, show the cache at work, and leave
// no memcached behind.
import test, { type ExecutionContext } from "ava";
import { execFile, execFileSync } from "node:child_process";
import { promisify } from "node:util";
import { portBase } from "../support/ports.js";
import { readFileSync, readdirSync, rmSync, existsSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

/** cgroups the demo with this pid made and left (v1's cpu hierarchy, or v2's). */
function leftoverCaps(pid: number): string[] {
  return ["/sys/fs/cgroup/cpu", "/sys/fs/cgroup"]
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).filter((n) => n.startsWith(`kvlb-demo-${pid}-`)));
}

const memcachedOn = (port: number): boolean => {
  try {
    return execFileSync("pgrep", ["-f", `memcached.* -U ${port} `], { encoding: "utf8" }).trim() !== "";
  } catch {
    return false;
  }
};

for (const datapath of ["socket", "afxdp"] as const) {
  test.serial(`kvlb demo on the ${datapath} path: cache off then on, both reported, a clean exit`, async (t) => {
    const port = portBase("demo");
    const chart = join(tmpdir(), `kvlb-demo-test-${process.pid}-${datapath}.svg`);
    const run = promisify(execFile)(
      process.execPath,
      [
        "bin/kvlb.js",
        "demo",
        "--seconds",
        "4",
        "--keys",
        "2000",
        "--port",
        String(port),
        "--datapath",
        datapath,
        "--chart",
        chart,
      ],
      { timeout: 90_000 },
    );
    const pid = run.child.pid ?? 0;
    const { stdout } = await run; // rejects unless the demo exits 0
    check(t, stdout, port, datapath === "socket" ? "127\\.0\\.0\\.1" : "10\\.10\\.2\\.2");
    t.regex(stdout, /^each memcached is held to 10% of a CPU/m, "the backends were capped");
    t.regex(stdout, /^What you saw: with the cache off, .* ops\/s, [\d.]+× as much\.$/m);
    t.regex(readFileSync(chart, "utf8"), /^<svg[^>]*>[\s\S]*cache off[\s\S]*<\/svg>\s*$/);
    rmSync(chart, { force: true });
    t.deepEqual(leftoverCaps(pid), [], "the demo's cgroups are gone");
    if (datapath === "afxdp") {
      t.regex(stdout, /^kvlb demo over XDP/m);
      const left = execFileSync("ip", ["netns", "list"], { encoding: "utf8" });
      t.notRegex(left, new RegExp(`demo-${pid}\\b`), "the demo's namespaces are gone");
    }
  });
}

function check(t: ExecutionContext, stdout: string, port: number, host: string): void {
  const row = (label: string): [string, string] => {
    const m = new RegExp(`^${label} +(\\S.*?)  +(\\S.*)$`, "m").exec(stdout);
    if (!m) throw new Error(`no '${label}' row in:\n${stdout}`);
    return [m[1] ?? "", m[2] ?? ""];
  };
  const [offHit, onHit] = row("answered by kvlb");
  t.is(offHit, "0.0%");
  t.true(parseFloat(onHit) > 20, `the cache answered ${onHit}`);
  // the printed imbalance is max/mean of the printed per-backend shares, recomputed here
  const shares = [0, 1, 2].map((i) =>
    row(`${host}:${port + i} req/s \\(share\\)`).map((c) => Number(/\(([\d.]+)%\)/.exec(c)?.[1])),
  );
  const printed = row("imbalance, max/mean").map(Number);
  for (const phase of [0, 1]) {
    const s = shares.map((r) => r[phase] ?? NaN);
    const expected = Math.max(...s) / (s.reduce((a, b) => a + b, 0) / s.length);
    t.true(Math.abs((printed[phase] ?? NaN) - expected) < 0.01, `imbalance ${printed[phase]}, shares ${s.join(", ")}`);
  }
  t.deepEqual(row("errors / timeouts"), ["0 / 0", "0 / 0"]);
  for (let i = 0; i < 3; i++) t.regex(stdout, new RegExp(`^${host}:${port + i} req/s`, "m"));
  t.regex(stdout, /^loaded 2,000 keys/m);
  for (const m of ["space-saving", "count-min", "lossy"]) {
    t.regex(
      stdout,
      new RegExp(`^  swap: swapped to ${m} v1 \\(sha256 [0-9a-f]{12}…\\) on 1 worker; pause \\d+ µs$`, "m"),
    );
  }
  for (let i = 0; i < 3; i++) t.false(memcachedOn(port + i), `memcached on ${port + i} was stopped`);
}
