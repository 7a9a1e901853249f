// The admin API against what an attacker or a confused operator sends it: any path, method,
// header or body gets an HTTP status and kvlb goes on; a module whose start function loops is
// refused at its deadline while the control plane answers; beyond loopback, a token is needed.
import test from "ava";
import { connect } from "node:net";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { faultModule } from "../support/fault-modules.js";
import { createSocket } from "node:dgram";
import { portBase } from "../support/ports.js";
import { until } from "../support/until.js";

const dir = mkdtempSync(join(tmpdir(), "kvlb-admin-"));
let cluster: Cluster;
let guarded: Cluster | undefined;
const TOKEN = "s3cret-token-for-the-tests";

test.before(async () => {
  cluster = await startCluster(portBase("admin-api"), 1);
});
test.after.always(async () => {
  await cluster?.stop();
  await guarded?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Sends raw bytes to the admin port; returns the status line of the answer, or "closed". */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("error", () => resolve(got.split("\r\n")[0] || "closed"));
    s.on("close", () => resolve(got.split("\r\n")[0] || "closed"));
    s.setTimeout(10_000, () => s.destroy());
    s.write(bytes); // not end(): a half-closed request may lose its answer
    s.on("data", () => {
      if (got.includes("\r\n\r\n")) s.destroy();
    });
  });
}

test.serial("any path, method, header or body gets an HTTP status, and kvlb answers /stats after", async (t) => {
  const port = cluster.adminPort;
  const cases: [string, string | Buffer, RegExp][] = [
    ["a double slash", "GET // HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", /^HTTP\/1\.1 404/],
    ["a bad escape", "GET /%ff%zz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", /^HTTP\/1\.1 400/],
    ["an absolute URL", "GET http://x/stats HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", /^HTTP\/1\.1 400/],
    ["an unknown method", "BREW /stats HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n", /^HTTP\/1\.1 400/],
    ["not HTTP at all", Buffer.from([0, 1, 2, 3, 0xff, 0x0d, 0x0a, 0x0d, 0x0a]), /^HTTP\/1\.1 400/],
    ["a 64 KB header", `GET /stats HTTP/1.1\r\nhost: x\r\nx: ${"a".repeat(65536)}\r\n\r\n`, /^HTTP\/1\.1 431/],
    [
      "a POST to /stats",
      "POST /stats HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
      /^HTTP\/1\.1 405/,
    ],
    [
      "a 100 MB module, announced",
      "POST /module HTTP/1.1\r\nhost: x\r\ncontent-length: 104857600\r\nconnection: close\r\n\r\n\0asm",
      /^HTTP\/1\.1 413/,
    ],
    [
      "a module that is not wasm",
      "POST /module HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\nconnection: close\r\n\r\njunk",
      /^HTTP\/1\.1 400/,
    ],
  ];
  for (const [what, bytes, status] of cases) t.regex(await raw(port, bytes), status, what);
  t.is(cluster.kvlb.exitCode, null, "kvlb is running");
  t.is((await fetch(`http://127.0.0.1:${port}/stats`)).status, 200);
});

/** (module (func (loop (br 0))) (start 0)): a start function that never returns. */
const loopingModule = Buffer.from([
  0x00,
  0x61,
  0x73,
  0x6d,
  0x01,
  0x00,
  0x00,
  0x00, // magic, version
  0x01,
  0x04,
  0x01,
  0x60,
  0x00,
  0x00, // type section: () -> ()
  0x03,
  0x02,
  0x01,
  0x00, // function section: one function of type 0
  0x08,
  0x01,
  0x00, // start section: function 0
  0x0a,
  0x09,
  0x01,
  0x07,
  0x00,
  0x03,
  0x40,
  0x0c,
  0x00,
  0x0b,
  0x0b, // code: loop br 0 end end
]);

test.serial(
  "a module whose start function loops is refused at its deadline; the control plane answers meanwhile",
  async (t) => {
    const base = `http://127.0.0.1:${cluster.adminPort}`;
    const started = Date.now();
    const swap = fetch(`${base}/module?name=loop.wasm`, { method: "POST", body: loopingModule });
    const during = await fetch(`${base}/stats`, { signal: AbortSignal.timeout(2000) });
    t.is(during.status, 200, "/stats answers while the module is checked");
    const r = await swap;
    t.is(r.status, 400);
    t.regex(((await r.json()) as { error: string }).error, /^loop\.wasm: not ready within 5 s/);
    t.true(Date.now() - started < 9000);
    const status = (await (await fetch(`${base}/module`)).json()) as { current: { name: string } };
    t.is(status.current.name, "lossy", "the running module goes on");
  },
);

test.serial("beyond loopback the admin API needs a token, and every request must carry it", async (t) => {
  const kvlb = (...args: string[]): { status: number | null; stdout: string; stderr: string } =>
    spawnSync(process.execPath, ["bin/kvlb.js", ...args], { encoding: "utf8", timeout: 20_000 });
  const open = kvlb("run", "--backend", "127.0.0.1:1", "--admin", "0.0.0.0:1");
  t.is(open.status, 2);
  t.regex(open.stderr, /^kvlb: admin 0\.0\.0\.0:1: the admin API beyond loopback needs a token/);
  const tokenFile = join(dir, "token");
  writeFileSync(tokenFile, `${TOKEN}\n`);
  guarded = await startCluster(portBase("admin-api") + 100, 1, ["--admin-token-file", tokenFile], 64, TOKEN);
  const url = `http://127.0.0.1:${guarded.adminPort}/stats`;
  t.is((await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200, "with the token");
  t.is((await fetch(url)).status, 401, "without it");
  t.is((await fetch(url, { headers: { authorization: "Bearer wrong-token-wrong-token" } })).status, 401);
  const admin = `127.0.0.1:${guarded.adminPort}`;
  t.is(kvlb("stats", "--admin", admin, "--admin-token-file", tokenFile).status, 0);
  const refused = kvlb("stats", "--admin", admin);
  t.is(refused.status, 2);
  t.regex(refused.stderr, /this admin API needs its token \(--admin-token-file FILE, or KVLB_ADMIN_TOKEN\)/);
});

test.serial(
  "a swapped-in module can send only to backends and to clients heard from: its strays are refused",
  async (t) => {
    const base = `http://127.0.0.1:${cluster.adminPort}`;
    const stray = createSocket("udp4");
    await new Promise<void>((resolve) => stray.bind(9999, "127.0.0.77", resolve));
    t.teardown(() => stray.close());
    let strays = 0;
    stray.on("message", () => strays++);
    const module = faultModule("send");
    const swapped = await fetch(`${base}/module?name=send.wasm`, { method: "POST", body: Buffer.from(module) });
    t.is(swapped.status, 200, await swapped.text());
    const c = new UdpClient(cluster.kvlbPort);
    t.teardown(() => c.close());
    t.is(await c.text("set sends 0 0 1\r\nx\r\n"), "STORED\r\n", "the client is still answered");
    const refused = async (): Promise<number> =>
      ((await (await fetch(`${base}/stats`)).json()) as { datagrams: { sendRefused: number } }).datagrams.sendRefused;
    // four strays for the set: to 127.0.0.77:9999 and the client's 9999, each as client and as backend
    await until("the guard refused the set's four strays", async () => (await refused()) >= 4);
    t.is(strays, 0, "nothing reached 127.0.0.77:9999");
    t.is((await fetch(`${base}/module/rollback`, { method: "POST" })).status, 200);
  },
);
