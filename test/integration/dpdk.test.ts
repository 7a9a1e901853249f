// kvlb run --datapath dpdk end to end: the namespaces of the AF_XDP tests, with DPDK's
// net_af_xdp driver on both of the balancer's veths and kvlb's own XDP program in it, so that
// everything but memcached still reaches the kernel. Skipped, and said so, where the DPDK addon
// is not built; the runtime files and namespaces go away even when a check fails.
import test from "ava";
import { existsSync, rmSync, readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR } from "../../host/cluster/netns.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { dpdkAddonPath } from "../../host/datapath/dpdk/native.js";
import { servesOverFrames } from "../support/frame-path-checks.js";

const topo = new Topology(`d${process.pid}`);
const node = process.execPath;
const cli = "dist/host/cli/main.js";
const ADMIN = "127.0.0.1:9912";
const built = existsSync(dpdkAddonPath);
const runtimeDirs: string[] = [];

test.before(() => {
  if (!built) return;
  topo.create("plain");
  for (const port of ["11211", "11212"]) {
    topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", port, "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
  }
  topo.spawn(topo.lb, [node, "-e", `require("net").createServer((s) => s.end("hello")).listen(7000, "${LB_ADDR}")`]);
});
test.after.always(() => {
  if (!built) return;
  topo.destroy();
  for (const d of runtimeDirs) rmSync(d, { recursive: true, force: true });
});

function inLb<T>(args: string[]): T {
  return JSON.parse(topo.exec(topo.lb, [node, cli, ...args, "--admin", ADMIN, "--json"])) as T;
}

function xdpOn(dev: string): boolean {
  return /xdp/.test(topo.exec(topo.lb, ["ip", "link", "show", "dev", dev]));
}

(built ? test.serial : test.skip)(
  "over DPDK net_af_xdp with kvlb's XDP program: the frame path's checks, then a clean exit",
  async (t) => {
    const kvlb = topo.spawn(topo.lb, [
      node,
      cli,
      "run",
      "--datapath",
      "dpdk",
      "--port",
      "net_af_xdp0,iface=l0",
      "--port",
      "net_af_xdp1,iface=l1",
      "--listen",
      `${LB_ADDR}:11211`,
      "--backend",
      `${BACKEND_ADDR}:11211`,
      "--backend",
      `${BACKEND_ADDR}:11212`,
      "--admin",
      ADMIN,
    ]);
    let output = "";
    kvlb.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    kvlb.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    await waitForOutput(kvlb, /kvlb is balancing over DPDK/);
    const runtime = `/var/run/dpdk/kvlb-${kvlb.pid ?? 0}`;
    const exited = new Promise<number | null>((resolve) => kvlb.once("exit", resolve));
    try {
      t.true(xdpOn("l0") && xdpOn("l1"), "DPDK's af_xdp driver attached kvlb's program");
      await servesOverFrames(t, topo, "dpdk", () => inLb<StatsView>(["stats"]));
      const status = JSON.parse(topo.exec(topo.lb, ["curl", "-s", `http://${ADMIN}/xdp`])) as {
        ports: { driver: string; stats: { rxPackets: number; txPackets: number } }[];
      };
      const [client, backend] = status.ports;
      t.is(client?.driver, "net_af_xdp");
      t.true((client?.stats.rxPackets ?? 0) > 300, "requests came in through DPDK");
      t.true((client?.stats.txPackets ?? 0) > 300, "replies left through DPDK");
      t.true((backend?.stats.rxPackets ?? 0) > 0, "backend replies came in through DPDK");
    } finally {
      topo.signalMatching(topo.lb, "--datapath", "SIGTERM");
      t.is(await exited, 0, output);
      runtimeDirs.push(runtime);
    }
    t.false(xdpOn("l0") || xdpOn("l1"), "no program left after exit");
    t.false(existsSync(runtime), "DPDK's runtime files are gone");
  },
);

(built ? test.serial : test.skip)("DPDK errors are one line each, exit 2, and leave no runtime files", (t) => {
  const hugepages = Number(readFileSync("/proc/sys/vm/nr_hugepages", "utf8").trim());
  const cases: [string[], RegExp][] = [
    [[], /give at least one --port/],
    [["--port", "net_af_xdp0,iface=nope"], /^kvlb: nope: no such interface$/m],
    [["--port", "net_af_xdp0,iface=l0", "--dpdk-args=--bogus"], /--bogus is not an EAL option/],
    [["--port", "net_af_xdp0,iface=l0", "--queues", "0"], /--queues 0: a whole number, 1 or more/],
    [["--port", "0000:99:00.0"], /did not create this port; is 0000:99:00.0 bound to vfio-pci/],
  ];
  // without --no-huge, the EAL wants hugepages; only where none are reserved can it miss them
  if (hugepages === 0) cases.push([["--port", "net_af_xdp0,iface=l0", "--dpdk-args=-m 64"], /no free hugepages/]);
  const before = new Set(existsSync("/var/run/dpdk") ? readdirSync("/var/run/dpdk") : []);
  for (const [args, message] of cases) {
    const r = spawnSync(
      "ip",
      [
        "netns",
        "exec",
        topo.lb,
        node,
        cli,
        "run",
        "--datapath",
        "dpdk",
        ...args,
        "--backend",
        "10.10.2.2:11211",
        "--admin",
        "off",
      ],
      { encoding: "utf8" },
    );
    t.is(r.status, 2, args.join(" "));
    t.regex(r.stderr, message);
    t.is(r.stderr.trim().split("\n").length, 1, `one line: ${r.stderr}`);
    t.is(r.stdout, "", "nothing from DPDK on stdout");
  }
  const left = (existsSync("/var/run/dpdk") ? readdirSync("/var/run/dpdk") : []).filter(
    (d) => !before.has(d) && d.startsWith("kvlb-"),
  );
  t.deepEqual(left, [], "no runtime directory left behind");
});
