// kvlb attach end to end: a client namespace, the balancer's namespace with kvlb's XDP program
// on both veths (native, then generic), and a backend namespace with two real memcached
// servers. The checks of the socket path pass over AF_XDP, other traffic still reaches the
// balancer's kernel, and nothing is left attached afterwards.
import test from "ava";
import { spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR } from "../../host/testbed/netns.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { until } from "../support/until.js";
import type { XdpStatus } from "../../host/cli/admin-client.js";
import { servesOverFrames, refusesStraySends, nsClient } from "../support/frame-path-checks.js";
import { XDP_PROGRAMS } from "../../host/xdp/layout.js";
import { judgeFailover } from "../support/failover-check.js";
import type { Op } from "../support/failover-load.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";

const topo = new Topology(String(process.pid));
const node = process.execPath;
const cli = "dist/host/cli/main.js";
const ADMIN = "127.0.0.1:9911";

test.before(() => {
  topo.create();
  for (const port of ["11211", "11212", "11213"]) {
    topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", port, "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
  }
  // two servers that speak TCP only, as memcached starts by default (tcp.backends)
  for (const port of ["11311", "11312"]) {
    topo.spawn(topo.backends, ["memcached", "-u", "root", "-p", port, "-U", "0", "-l", BACKEND_ADDR, "-t", "1"]);
  }
  // a TCP service in the balancer's namespace, to show that XDP leaves TCP to the kernel
  topo.spawn(topo.lb, [node, "-e", `require("net").createServer((s) => s.end("hello")).listen(7000, "${LB_ADDR}")`]);
});
test.after.always(() => topo.destroy());

function inLb<T>(args: string[]): T {
  return JSON.parse(topo.exec(topo.lb, [node, cli, ...args, "--admin", ADMIN, "--json"])) as T;
}

function xdpModeOf(dev: string): string {
  const line = topo.exec(topo.lb, ["ip", "link", "show", "dev", dev]);
  return /xdpgeneric/.test(line) ? "generic" : /xdp/.test(line) ? "native" : "none";
}

/** kvlb attach on l0,l1 with these backend ports (and any more flags), once it says it serves. */
async function attach(
  mode: "native" | "generic",
  ports: readonly number[] = [11211, 11212],
  extra: string[] = [],
): Promise<ChildProcess> {
  const kvlb = topo.spawn(topo.lb, [
    node,
    cli,
    "attach",
    "l0,l1",
    "--mode",
    mode,
    ...ports.flatMap((p) => ["--backend", `${BACKEND_ADDR}:${p}`]),
    ...extra,
    "--admin",
    ADMIN,
  ]);
  await waitForOutput(kvlb, /kvlb is attached and balancing/);
  return kvlb;
}

async function detach(kvlb: ChildProcess): Promise<{ code: number | null; output: string }> {
  let output = "";
  kvlb.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => kvlb.once("exit", resolve));
  topo.signalMatching(topo.lb, "attach", "SIGTERM");
  return { code: await exited, output };
}

// kvlb sends in copy mode on veth, as skbs, so its peers need no XDP program of their own: the
// native run has none on them (the demo runs native with kvlb_pass on them).
for (const [mode, peers] of [
  ["native", "plain"],
  ["generic", "xdp"],
] as const) {
  test.serial(
    `over AF_XDP in ${mode} mode: get, set, multi-get, 20 KB, hot keys, a module's strays refused, then a clean detach`,
    async (t) => {
      topo.setPeers(peers);
      const kvlb = await attach(mode);
      try {
        t.is(xdpModeOf("l0"), mode);
        t.is(xdpModeOf("l1"), mode);
        await servesOverFrames(t, topo, mode, () => inLb<StatsView>(["stats", "--fresh"]));
        const xdp = inLb<XdpStatus>(["status"]);
        const [l0, l1] = xdp.interfaces;
        t.is(l0?.mode, mode);
        t.true((l0?.counters["redirect_request"] ?? 0) > 300, "requests went through AF_XDP");
        t.true((l1?.counters["redirect_reply"] ?? 0) > 0, "backend replies came back through XDP");
        await refusesStraySends(t, topo, ADMIN, () => inLb<StatsView>(["stats", "--fresh"]));
      } finally {
        const { code, output } = await detach(kvlb);
        t.is(code, 0, output);
      }
      t.is(xdpModeOf("l0"), "none", "no program left on l0");
      t.is(xdpModeOf("l1"), "none", "no program left on l1");
    },
  );
}

test.serial(
  "over AF_XDP with tcp.backends: UDP requests through the frames and TCP clients are served by TCP-only memcached servers, each key on its ketama server",
  async (t) => {
    topo.setPeers("plain");
    const { dir, config } = configIn("kvlb-afxdp-tcp-");
    writeFileSync(config, "tcp:\n  backends: true\n");
    const ports = [11311, 11312];
    const kvlb = await attach("native", ports, ["--config", config]);
    try {
      const keys = Array.from({ length: 8 }, (_, i) => `tb-${i}`);
      const big = "q".repeat(100_000);
      const mid = "m".repeat(30_000);
      const r = nsClient(topo, [
        ...keys.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`),
        ...keys.map((k) => `get ${k}\r\n`),
        `tcp:11211:set tb-big 0 0 ${big.length}\r\n${big}\r\nset tb-mid 0 0 ${mid.length}\r\n${mid}\r\nget tb-big\r\n`,
        "get tb-mid\r\n",
      ]);
      t.deepEqual(
        r.slice(0, keys.length),
        keys.map(() => "STORED\r\n"),
        "sets over UDP",
      );
      t.deepEqual(
        r.slice(keys.length, 2 * keys.length),
        keys.map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\nEND\r\n`),
        "gets over UDP",
      );
      t.true(
        r[2 * keys.length] === `tcp ok: STORED\r\nSTORED\r\nVALUE tb-big 0 ${big.length}\r\n${big}\r\nEND\r\n`,
        "a 100 KB value over a TCP client, past any datagram",
      );
      t.is(
        r[2 * keys.length + 1],
        `VALUE tb-mid 0 ${mid.length}\r\n${mid}\r\nEND\r\n`,
        "a 30 KB value to a UDP client",
      );
      // the oracle for placement: libmemcached's ketama, and each server asked straight over TCP
      const all = [...keys, "tb-big", "tb-mid"];
      const homes = libmemcachedHomes(
        ports.map((port) => ({ host: BACKEND_ADDR, port })),
        all,
      );
      const held = backendAsk(
        0,
        ports.map((p) => `tcp:${p}:${all.map((k) => `mg ${k}\r\n`).join("")}`),
      );
      all.forEach((k, i) => {
        const on = ports.map((_, b) => (held[b] ?? "").replace(/^tcp ok: /, "").split("\r\n")[i] === "HD");
        t.deepEqual(
          on,
          ports.map((_, b) => b === homes[i]),
          `${k} is on server ${homes[i]} alone`,
        );
      });
      const s = inLb<StatsView>(["stats", "--fresh"]);
      t.true(s.tcpBackends.replies >= all.length + keys.length, `${s.tcpBackends.replies} replies over TCP`);
      t.is(s.tcpBackends.badReplies, 0);
      const [l0] = inLb<XdpStatus>(["status"]).interfaces;
      t.true((l0?.counters["redirect_request"] ?? 0) >= 2 * keys.length, "the UDP requests went through AF_XDP");
    } finally {
      const { code, output } = await detach(kvlb);
      t.is(code, 0, output);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

/** Each request's reply from a backend server, asked from the balancer's namespace (ns-client.ts:
 * over UDP to port, or "tcp:PORT:TEXT" over TCP). */
function backendAsk(port: number, requests: string[]): string[] {
  const out = topo.exec(topo.lb, [
    node,
    "--import=tsx",
    "test/support/ns-client.ts",
    BACKEND_ADDR,
    String(port),
    JSON.stringify(requests),
  ]);
  return JSON.parse(out.trim().split("\n").pop() ?? "[]") as string[];
}

/** A directory for a test's config file, and the file's path in it. */
function configIn(prefix: string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, config: join(dir, "kvlb.yaml") };
}

function kvlbIn(
  ns: string,
  args: string[],
  prefix: string[] = [],
): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync("ip", ["netns", "exec", ns, ...prefix, node, cli, ...args], {
    encoding: "utf8",
    timeout: 30_000,
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

test.serial("attach errors: no such interface, another program attached, not root", (t) => {
  const backend = ["--backend", `${BACKEND_ADDR}:11211`, "--admin", "off"];
  const none = kvlbIn(topo.lb, ["attach", "eth9", ...backend]);
  t.is(none.status, 2);
  t.is(none.stderr, "kvlb: eth9: no such interface\n");

  topo.setXdp(topo.lb, "l0", "generic", "build/xdp/kvlb.bpf.o", XDP_PROGRAMS.pass);
  const taken = kvlbIn(topo.lb, ["attach", "l0", ...backend]);
  t.is(taken.status, 2);
  t.regex(
    taken.stderr,
    /^kvlb: l0: XDP program 'kvlb_pass' \(id \d+\) is already attached in generic mode; detach it, or force/,
  );
  const refused = kvlbIn(topo.lb, ["detach", "l0"]);
  t.is(refused.status, 2);
  t.regex(refused.stderr, /l0: the XDP program there is 'kvlb_pass' .* not kvlb's; --force removes it/);
  const forced = kvlbIn(topo.lb, ["detach", "l0", "--force"]);
  t.is(forced.status, 0, forced.stderr);
  t.regex(forced.stdout, /^l0: detached kvlb_pass \(id \d+, generic mode\)/);
  t.is(xdpModeOf("l0"), "none");

  const user = kvlbIn(
    topo.lb,
    ["attach", "l0", ...backend],
    ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"],
  );
  t.is(user.status, 2);
  t.is(user.stderr, "kvlb: attaching XDP needs root (CAP_NET_ADMIN, CAP_BPF)\n");
});

test.serial("over AF_XDP: SIGKILL one of three under load, its keys fail over within 1 s, it comes back", async (t) => {
  topo.setPeers("plain");
  const ports = [11211, 11212, 11213];
  const kvlb = await attach("native", ports, ["--timeout", "300"]);
  try {
    const keys = Array.from({ length: 48 }, (_, i) => `fo-${i}`);
    const placed = libmemcachedHomes(
      ports.map((port) => ({ host: BACKEND_ADDR, port })),
      keys,
    );
    const homes = new Map(keys.map((k, i) => [k, placed[i] ?? -1]));
    const requests = (): number => inLb<StatsView>(["stats", "--fresh"]).datagrams.fromClients;
    const before = requests();
    const load = topo.spawn(topo.client, [
      node,
      "--import=tsx",
      "test/support/failover-load.ts",
      LB_ADDR,
      "11211",
      "4",
      String(keys.length),
    ]);
    let out = "";
    load.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    const finished = new Promise<void>((resolve) => load.once("exit", () => resolve()));
    // the backend dies once the load runs (its node starts in the namespace first)
    await until("the load has sent 200 requests", () => requests() - before >= 200);
    const killedAt = Date.now();
    t.is(topo.signalMatching(topo.backends, "11213", "SIGKILL"), 1);
    while (topo.pidsMatching(topo.backends, "11213").length > 0) await new Promise((r) => setTimeout(r, 5));
    const deadAt = Date.now();
    await finished;
    const v = judgeFailover(JSON.parse(out) as Op[], (k) => homes.get(k) ?? -1, 2, killedAt, deadAt);
    t.log(`failover in ${v.failoverMs} ms; during it: ${JSON.stringify(v.during)}; ${v.healthyOps} ops on other keys`);
    t.deepEqual(v.healthyWrong, []);
    t.deepEqual(v.deadKeyWrong, []);
    t.true(v.failoverMs < 1000, `failover took ${v.failoverMs} ms`);
    t.true(v.deadKeyOps > 30 && v.healthyOps > 100);
    t.is(inLb<StatsView>(["stats"]).backends[2]?.health?.state, "down");
    topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", "11213", "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
    const deadline = Date.now() + 5000;
    while (inLb<StatsView>(["stats"]).backends[2]?.health?.state !== "up" && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    t.is(inLb<StatsView>(["stats"]).backends[2]?.health?.state, "up", "taken back once restarted");
  } finally {
    const { code, output } = await detach(kvlb);
    t.is(code, 0, output);
  }
});

test.serial("SIGTERM to kvlb attach's whole process group: it detaches from every interface and exits 0", async (t) => {
  topo.setPeers("plain");
  const kvlb = topo.spawn(
    topo.lb,
    [node, cli, "attach", "l0,l1", "--mode", "native", "--backend", `${BACKEND_ADDR}:11211`, "--admin", ADMIN],
    true,
  );
  let output = "";
  for (const s of [kvlb.stdout, kvlb.stderr]) s?.on("data", (d: Buffer) => (output += d.toString()));
  await waitForOutput(kvlb, /kvlb is attached and balancing/);
  t.is(xdpModeOf("l0"), "native");
  // a next-hop read in flight runs in a group of its own, so the signal reaches kvlb alone
  await new Promise((r) => setTimeout(r, 1100));
  const exited = new Promise<number | null>((resolve) => kvlb.once("exit", resolve));
  process.kill(-(kvlb.pid ?? 0), "SIGTERM");
  await exited;
  t.is(xdpModeOf("l0"), "none", output);
  t.is(xdpModeOf("l1"), "none");
  t.regex(output, /"msg":"detached"/);
});

test.serial("after SIGKILL, a fresh kvlb attach replaces the program left behind, says so, and serves", async (t) => {
  topo.setPeers("plain");
  const args = [
    node,
    cli,
    "attach",
    "l0,l1",
    "--mode",
    "native",
    "--backend",
    `${BACKEND_ADDR}:11211`,
    "--admin",
    ADMIN,
  ];
  const first = topo.spawn(topo.lb, args);
  await waitForOutput(first, /kvlb is attached and balancing/);
  const gone = new Promise((resolve) => first.once("exit", resolve));
  t.true(topo.signalMatching(topo.lb, "attach", "SIGKILL") >= 1);
  await gone;
  while (topo.pidsMatching(topo.lb, "attach").length > 0) await new Promise((r) => setTimeout(r, 20));
  t.is(xdpModeOf("l0"), "native", "SIGKILL leaves the program behind");
  const second = topo.spawn(topo.lb, args);
  let output = "";
  for (const s of [second.stdout, second.stderr]) s?.on("data", (d: Buffer) => (output += d.toString()));
  try {
    await waitForOutput(second, /kvlb is attached and balancing/);
    t.regex(output, /replaced kvlb's XDP program left by a kvlb that is gone/);
    t.regex(output, /"ifname":"l0"/);
    const reply = topo.exec(topo.client, [
      node,
      "--import=tsx",
      "test/support/ns-client.ts",
      LB_ADDR,
      "11211",
      JSON.stringify(["set orphan 0 0 2\r\nok\r\n", "get orphan\r\n"]),
    ]);
    t.deepEqual(JSON.parse(reply), ["STORED\r\n", "VALUE orphan 0 2\r\nok\r\nEND\r\n"]);
  } finally {
    const { code } = await detach(second);
    t.is(code, 0);
  }
  t.is(xdpModeOf("l0"), "none");
});

test.serial(
  "over AF_XDP, kvlb reload adds a server from the file: the program steers its replies, and keys land where libmemcached puts them",
  async (t) => {
    topo.setPeers("plain");
    const { dir, config } = configIn("kvlb-afxdp-reload-");
    const write = (ports: number[]): void =>
      writeFileSync(config, `backends:\n${ports.map((p) => `  - ${BACKEND_ADDR}:${p}\n`).join("")}`);
    write([11211]);
    const kvlb = await attach("native", [], ["--config", config]);
    try {
      const ports = [11211, 11212];
      write(ports);
      const out = topo.exec(topo.lb, [node, cli, "reload", "--admin", ADMIN]);
      t.regex(out, /^reloaded: 2 backends/);
      t.regex(out, new RegExp(`added ${BACKEND_ADDR.replace(/\./g, "\\.")}:11212`));
      const keys = Array.from({ length: 24 }, (_, i) => `rl-${i}`);
      const r = nsClient(topo, [
        ...keys.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`),
        ...keys.map((k) => `get ${k}\r\n`),
      ]);
      t.deepEqual(
        r.slice(0, keys.length),
        keys.map(() => "STORED\r\n"),
      );
      t.deepEqual(
        r.slice(keys.length),
        keys.map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\nEND\r\n`),
      );
      const homes = libmemcachedHomes(
        ports.map((port) => ({ host: BACKEND_ADDR, port })),
        keys,
      );
      // each server asked straight over UDP from the balancer's namespace
      const held = ports.map((p) =>
        backendAsk(
          p,
          keys.map((k) => `get ${k}\r\n`),
        ),
      );
      keys.forEach((k, i) => {
        const on = ports.map((_, b) => (held[b]?.[i] ?? "").startsWith("VALUE"));
        t.deepEqual(
          on,
          ports.map((_, b) => b === homes[i]),
          `${k} is on server ${homes[i]} alone`,
        );
      });
      t.true(homes.includes(1), "some keys went to the server the reload added");
      const [, l1] = inLb<XdpStatus>(["status"]).interfaces;
      t.true((l1?.counters["redirect_reply"] ?? 0) >= keys.length * 2, "the replies came back through XDP");
      t.deepEqual(
        inLb<StatsView>(["stats"]).backends.map((b) => b.backend),
        ports.map((p) => `${BACKEND_ADDR}:${p}`),
      );
    } finally {
      const { code, output } = await detach(kvlb);
      t.is(code, 0, output);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);

test.serial(
  "over AF_XDP, a reload that adds a server migrates: every moved key is still served, from its old server, and copied to the new one",
  async (t) => {
    topo.setPeers("plain");
    const { dir, config } = configIn("kvlb-afxdp-migrate-");
    const write = (ports: number[]): void =>
      writeFileSync(
        config,
        `migration:\n  windowSeconds: 30\nbackends:\n${ports.map((p) => `  - ${BACKEND_ADDR}:${p}\n`).join("")}`,
      );
    write([11211]);
    const kvlb = await attach("native", [], ["--config", config]);
    try {
      const keys = Array.from({ length: 24 }, (_, i) => `afmig-${i}`);
      t.deepEqual(
        nsClient(
          topo,
          keys.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`),
        ),
        keys.map(() => "STORED\r\n"),
      );
      const ports = [11211, 11212];
      write(ports);
      t.regex(topo.exec(topo.lb, [node, cli, "reload", "--admin", ADMIN]), /migrating: for 30 s/);
      const homes = libmemcachedHomes(
        ports.map((port) => ({ host: BACKEND_ADDR, port })),
        keys,
      );
      const moved = keys.filter((_, i) => homes[i] === 1);
      t.true(moved.length > 0, "some keys moved to the server the reload added");
      t.deepEqual(
        nsClient(
          topo,
          keys.map((k) => `get ${k}\r\n`),
        ),
        keys.map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\nEND\r\n`),
        "no key missed",
      );
      await until("every moved key is copied to the new server", () =>
        backendAsk(
          11212,
          moved.map((k) => `get ${k}\r\n`),
        ).every((r, i) => r === `VALUE ${moved[i]} 0 ${moved[i]?.length}\r\n${moved[i]}\r\nEND\r\n`),
      );
      const m = inLb<StatsView>(["stats"]).migration;
      t.true(m.open);
      t.true(m.fallbacks >= moved.length, `${m.fallbacks} gets answered by the old server`);
    } finally {
      const { code, output } = await detach(kvlb);
      t.is(code, 0, output);
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
