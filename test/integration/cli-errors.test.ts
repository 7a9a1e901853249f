// Operator mistakes: each gets one line on stderr naming what is wrong, and exit code 2.
import test, { type ExecutionContext } from "ava";
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { commands } from "../../host/cli/commands.js";

const dir = mkdtempSync(join(tmpdir(), "kvlb-cli-"));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function kvlb(...args: string[]): { status: number | null; stderr: string; stdout: string } {
  return spawnSync(process.execPath, ["bin/kvlb.js", ...args], { encoding: "utf8", timeout: 20_000 });
}

function oneLine(t: ExecutionContext, r: { status: number | null; stderr: string }, pattern: RegExp): void {
  t.is(r.status, 2, r.stderr);
  t.is(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
  t.regex(r.stderr, pattern);
}

test("a bad config file, no backends, and a bad flag", (t) => {
  const path = join(dir, "cli.yaml");
  writeFileSync(path, "requests: { natEntries: 100 }\n");
  oneLine(
    t,
    kvlb("run", "--config", path, "--admin", "off"),
    /^kvlb: .*cli\.yaml: natEntries 100: must be a power of two/,
  );
  oneLine(t, kvlb("run", "--admin", "off"), /^kvlb: no backends: give --backend host:port/);
  oneLine(t, kvlb("run", "--bogus"), /^kvlb: Unknown option '--bogus'/);
  oneLine(t, kvlb("run", "--backend", "127.0.0.1:99999"), /^kvlb: 127\.0\.0\.1:99999: port must be 1-65535/);
  oneLine(t, kvlb("frobnicate"), /^kvlb: unknown command 'frobnicate'/);
  // each address flag's example is a right value for that flag
  oneLine(
    t,
    kvlb("stats", "--admin", "localhost"),
    /^kvlb: localhost: expected an IPv4 address and port, like 127\.0\.0\.1:9911\n/,
  );
  oneLine(t, kvlb("run", "--listen", "localhost"), /like 127\.0\.0\.1:11311\n/);
});

test("two backends that resolve to one server are refused, naming both", (t) => {
  oneLine(
    t,
    kvlb("run", "--backend", "127.0.0.1:23001", "--backend", "localhost:23001", "--admin", "off"),
    /^kvlb: backends 127\.0\.0\.1:23001 and localhost:23001 are the same server \(127\.0\.0\.1:23001\): list it once\n$/,
  );
  oneLine(
    t,
    kvlb("run", "--backend", "127.0.0.1:23001", "--backend", "127.0.0.1:23001:2", "--admin", "off"),
    /^kvlb: backends 127\.0\.0\.1:23001 and 127\.0\.0\.1:23001 are the same server/,
  );
});

test("a listen address already in use", async (t) => {
  const taken = createSocket("udp4");
  await new Promise<void>((resolve) => taken.bind(0, "127.0.0.1", resolve));
  const port = taken.address().port;
  try {
    oneLine(
      t,
      kvlb("run", "--listen", `127.0.0.1:${port}`, "--backend", "127.0.0.1:11211", "--admin", "off"),
      new RegExp(`^kvlb: 127\\.0\\.0\\.1:${port}: address in use`),
    );
  } finally {
    taken.close();
  }
});

test("every command answers --help with its synopsis and options, and exit 0", (t) => {
  for (const c of commands) {
    const r = kvlb(c.name, "--help");
    t.is(r.status, 0, `${c.name}: ${r.stderr}`);
    t.true(r.stdout.startsWith(`kvlb ${c.name}`), `${c.name}: ${r.stdout.slice(0, 60)}`);
    t.regex(r.stdout, /\n {2}--[a-z]/, `${c.name} lists its options`);
  }
  t.regex(kvlb("--help").stdout, /kvlb COMMAND --help/);
});

test("the commands that talk to a running kvlb take its admin address and token from --config", (t) => {
  const path = join(dir, "admin.yaml");
  const token = join(dir, "token");
  writeFileSync(token, "a-token-of-sixteen-chars\n");
  // a port nothing listens on: the error must name the address the file gave
  writeFileSync(path, `admin: { listen: 127.0.0.1:1, tokenFile: ${token} }\n`);
  for (const command of ["stats", "top", "swap", "flush"]) {
    const args = command === "swap" ? ["swap", "--show", "--config", path] : [command, "--config", path];
    oneLine(t, kvlb(...args), /^kvlb: 127\.0\.0\.1:1: no kvlb admin API answers there/);
  }
  // status falls back to what the kernel shows, after saying which admin API did not answer
  const status = kvlb("status", "--config", path);
  t.regex(status.stdout + status.stderr, /127\.0\.0\.1:1: no kvlb admin API answers there/);
  writeFileSync(path, "admin: off\n");
  oneLine(t, kvlb("stats", "--config", path), /admin\.yaml: the admin API is off there/);
  writeFileSync(path, "admin: { listen: 127.0.0.1:1, tokenFile: /nonexistent/token }\n");
  oneLine(t, kvlb("stats", "--config", path), /^kvlb: \/nonexistent\/token: no such token file/);
});

test("kvlb load --preload against an address where nothing answers stops after three tries of one set", (t) => {
  const started = Date.now();
  oneLine(
    t,
    kvlb("load", "--preload", "--target", "127.0.0.1:1", "--seconds", "1"),
    /^kvlb: 127\.0\.0\.1:1: nothing answered a set in 3 tries/,
  );
  // one timeout per key would have taken minutes for the 10,000 keys
  t.true(Date.now() - started < 15_000, `${Date.now() - started} ms`);
});
