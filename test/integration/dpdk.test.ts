// kvlb run --datapath dpdk end to end, in the namespaces of the AF_XDP tests: DPDK's net_af_xdp
// driver on both of the balancer's veths with kvlb's own XDP program in it, so that everything
// but memcached still reaches the kernel; net_af_packet, where the kernel sees every frame too;
// and two workers over net_af_packet, whose caches must stay consistent with each other. Skipped, and said so, where the DPDK addon
// is not built; the runtime files and namespaces go away even when a check fails.
import test, { type ExecutionContext } from "ava";
import { existsSync, rmSync, readFileSync, readdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR, LB_BACKEND_ADDR } from "../../host/testbed/netns.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { until } from "../support/until.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";
import { dpdkAddonPath } from "../../host/datapath/dpdk/native.js";
import { servesOverFrames, nsClient, refusesStraySends } from "../support/frame-path-checks.js";
import { detectorModulePaths } from "../../host/core/loader.js";
import type { ModuleStatus, SwapReport } from "../../host/control/modules.js";

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

interface Running {
  output: () => string;
  runtime: string;
  stop: () => Promise<void>;
}

/** kvlb run --datapath dpdk in the balancer's namespace, with clients on l0 and backends behind l1. */
async function runKvlb(
  t: ExecutionContext,
  ports: string[],
  extra: string[] = [],
  listen: string[] = ["--listen", `${LB_ADDR}:11211`],
  backends: string[] = ["--backend", `${BACKEND_ADDR}:11211`, "--backend", `${BACKEND_ADDR}:11212`],
): Promise<Running> {
  const kvlb = topo.spawn(topo.lb, [
    node,
    cli,
    "run",
    "--datapath",
    "dpdk",
    ...ports.flatMap((p) => ["--port", p]),
    ...extra,
    ...listen,
    ...backends,
    "--admin",
    ADMIN,
  ]);
  let output = "";
  kvlb.stdout?.on("data", (d: Buffer) => (output += d.toString()));
  kvlb.stderr?.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => kvlb.once("exit", resolve));
  const runtime = `/var/run/dpdk/kvlb-${kvlb.pid ?? 0}`;
  runtimeDirs.push(runtime);
  const stop = async (): Promise<void> => {
    topo.signalMatching(topo.lb, "--datapath", "SIGTERM");
    t.is(await exited, 0, output);
    t.false(existsSync(runtime), "DPDK's runtime files are gone");
  };
  try {
    await waitForOutput(kvlb, /kvlb is balancing over DPDK/);
  } catch (e) {
    await stop().catch(() => undefined);
    throw new Error(`${(e as Error).message}\n${output}`);
  }
  return { output: () => output, runtime, stop };
}

interface PortStatus {
  driver: string;
  stats: { rxPackets: number; txPackets: number };
}
const portStatus = (): PortStatus[] =>
  (JSON.parse(topo.exec(topo.lb, ["curl", "-s", `http://${ADMIN}/xdp`])) as { ports: PortStatus[] }).ports;

(built ? test.serial : test.skip)(
  "over DPDK net_af_xdp with kvlb's XDP program, no --listen and --dpdk-args as two words: the frame path's checks on l0's address, a module's strays refused, then a clean exit",
  async (t) => {
    // as the README writes it: kvlb listens on the first port's interface address, port 11211
    const kvlb = await runKvlb(
      t,
      ["net_af_xdp0,iface=l0", "net_af_xdp1,iface=l1"],
      ["--dpdk-args", "--no-huge -m 512"],
      [],
    );
    try {
      t.true(xdpOn("l0") && xdpOn("l1"), "DPDK's af_xdp driver attached kvlb's program");
      await servesOverFrames(t, topo, "dpdk", () => inLb<StatsView>(["stats", "--fresh"]));
      const [client, backend] = portStatus();
      t.is(client?.driver, "net_af_xdp");
      t.true((client?.stats.rxPackets ?? 0) > 300, "requests came in through DPDK");
      t.true((client?.stats.txPackets ?? 0) > 300, "replies left through DPDK");
      t.true((backend?.stats.rxPackets ?? 0) > 0, "backend replies came in through DPDK");
      await refusesStraySends(t, topo, ADMIN, () => inLb<StatsView>(["stats", "--fresh"]));
    } finally {
      await kvlb.stop();
    }
    t.false(xdpOn("l0") || xdpOn("l1"), "no program left after exit");
  },
);

// servesOverFrames sends this many memcached datagrams (the 20 KB set is one, reassembled)
const CHECK_DATAGRAMS = 6 + 302 + 20;

(built ? test.serial : test.skip)(
  "over DPDK net_af_packet: the same checks, each request served once though the kernel sees it too",
  async (t) => {
    const kvlb = await runKvlb(t, ["net_af_packet0,iface=l0", "net_af_packet1,iface=l1"]);
    try {
      const s = await servesOverFrames(t, topo, "packet", () => inLb<StatsView>(["stats", "--fresh"]));
      const [client] = portStatus();
      t.is(client?.driver, "net_af_packet");
      t.true((client?.stats.rxPackets ?? 0) > 300, "requests came in through DPDK");
      const later = inLb<StatsView>(["stats", "--fresh"]);
      t.is(later.datagrams.fromClients, CHECK_DATAGRAMS, "no request was served twice");
      t.true((s.frames?.kernelCopies ?? 0) > 300, "the kernel socket's copies were left to the frame path");
      t.true((later.frames?.repliesViaKernel ?? 0) > 0, "backend replies came through the kernel socket");
    } finally {
      await kvlb.stop();
    }
  },
);

const HISTORY = { clients: 8, opsPerClient: 500, keys: ["mw-a", "mw-b", "mw-c", "mw-d"], writeShare: 0.3 };

(built ? test.serial : test.skip)(
  "two workers over net_af_packet (--queues 2): flows spread, shared stats, no stale read across workers",
  async (t) => {
    const kvlb = await runKvlb(t, ["net_af_packet0,iface=l0", "net_af_packet1,iface=l1"], ["--queues", "2"]);
    try {
      await servesOverFrames(t, topo, "two", () => inLb<StatsView>(["stats", "--fresh"]));
      const out = topo.exec(
        topo.client,
        [node, "--import=tsx", "test/support/ns-history.ts", LB_ADDR, "11211", JSON.stringify(HISTORY)],
        120_000,
      );
      const r = JSON.parse(out.trim().split("\n").pop() ?? "{}") as {
        reads: number;
        writes: number;
        unanswered: number;
        violationCount: number;
        violations: unknown[];
      };
      t.true(r.reads + r.writes > 3500, `${r.reads} reads, ${r.writes} writes`);
      t.true(r.unanswered < 20, `${r.unanswered} unanswered`);
      t.deepEqual(r.violations, [], `${r.violationCount} reads returned a value already overwritten`);
      const s = inLb<StatsView>(["stats", "--fresh"]);
      const workers = s.workers ?? [];
      t.is(workers.length, 2, "/stats shows each worker");
      for (const w of workers) {
        t.true(w.datagrams.fromClients > 100, `worker ${w.worker} served clients: ${w.datagrams.fromClients}`);
        t.true(w.datagrams.answeredFromCache > 50, `worker ${w.worker} answered from its cache`);
        t.true((w.writeEvents?.heard ?? 0) > 0, `worker ${w.worker} heard the other's writes`);
      }
      t.is(
        s.datagrams.fromClients,
        workers.reduce((a, w) => a + w.datagrams.fromClients, 0),
        "the total is the workers' sum",
      );
      const text = topo.exec(topo.lb, [node, cli, "stats", "--admin", ADMIN]);
      t.regex(
        text,
        /^worker 0 +[\d,]+ requests, [\d.]+% from its cache, [\d,]+ to backends, [\d,]+ write events heard$/m,
      );
      t.regex(text, /^worker 1 /m);
      const metrics = topo.exec(topo.lb, ["curl", "-s", `http://${ADMIN}/metrics`]);
      t.regex(metrics, /kvlb_worker_datagrams_total\{worker="1",path="fromClients"\} [1-9]/);

      // a module swap reaches both workers, and they go on serving
      const swapped = JSON.parse(
        topo.exec(topo.lb, [
          "curl",
          "-sf",
          "--data-binary",
          `@${detectorModulePaths["space-saving"]}`,
          `http://${ADMIN}/module`,
        ]),
      ) as SwapReport;
      t.is(swapped.workers, 2);
      const modules = JSON.parse(topo.exec(topo.lb, ["curl", "-sf", `http://${ADMIN}/module`])) as ModuleStatus;
      t.deepEqual(
        modules.workers.map((w) => w.info.name),
        ["space-saving", "space-saving"],
      );
      t.deepEqual(nsClient(topo, ["set two-k 0 0 2\r\nhi\r\n", "get two-k\r\n"]), [
        "STORED\r\n",
        "VALUE two-k 0 2\r\nhi\r\nEND\r\n",
      ]);
    } finally {
      await kvlb.stop();
    }
  },
);

(built ? test.serial : test.skip)(
  "ports no kernel serves (no address on l0, l1): kvlb answers ARP, finds the backends by ARP, and serves",
  async (t) => {
    stripKernelAddresses();
    try {
      const kvlb = await runKvlb(t, BARE_PORTS);
      try {
        await until("the first ARP round found every backend", () => {
          const s = inLb<StatsView>(["stats", "--fresh"]);
          return s.frames?.nextHopsKnown === s.backends.length;
        });
        const r = nsClient(topo, [
          "set bare-k 0 0 5\r\nhello\r\n",
          "get bare-k\r\n",
          "set bare-j 0 0 2\r\nhi\r\n",
          "get bare-k bare-j nothing\r\n",
          ...Array<string>(300).fill("get bare-k\r\n"),
          "set bare-k 0 0 3\r\nnew\r\n",
          "get bare-k\r\n",
        ]);
        t.deepEqual(r.slice(0, 4), [
          "STORED\r\n",
          "VALUE bare-k 0 5\r\nhello\r\nEND\r\n",
          "STORED\r\n",
          "VALUE bare-k 0 5\r\nhello\r\nVALUE bare-j 0 2\r\nhi\r\nEND\r\n",
        ]);
        t.true(r.slice(4, 304).every((x) => x === "VALUE bare-k 0 5\r\nhello\r\nEND\r\n"));
        t.is(r[305], "VALUE bare-k 0 3\r\nnew\r\nEND\r\n", "a read after an acknowledged write sees it");
        const s = inLb<StatsView>(["stats", "--fresh"]);
        t.true(s.datagrams.answeredFromCache > 150, `answered from cache: ${s.datagrams.answeredFromCache}`);
        t.is(s.frames?.noNextHop, 0, "every backend was found by ARP before it was needed");
        const metrics = topo.exec(topo.lb, ["curl", "-s", `http://${ADMIN}/metrics`]);
        t.regex(metrics, /kvlb_core_events_total\{counter="arp_answered"\} [1-9]/);
        const neigh = JSON.parse(topo.exec(topo.client, ["ip", "-j", "neigh", "show", LB_ADDR])) as {
          lladdr?: string;
        }[];
        const l0 = JSON.parse(topo.exec(topo.lb, ["ip", "-j", "link", "show", "dev", "l0"])) as { address: string }[];
        t.is(neigh[0]?.lladdr, l0[0]?.address, "the client learned kvlb's MAC from kvlb's own ARP answer");
      } finally {
        await kvlb.stop();
      }
    } finally {
      restoreKernelAddresses();
    }
  },
);

/** Takes the kernel's addresses off the balancer's ports, as on ports no kernel serves, and the
 * neighbours' memory of them. */
function stripKernelAddresses(): void {
  topo.exec(topo.lb, ["ip", "addr", "flush", "dev", "l0"]);
  topo.exec(topo.lb, ["ip", "addr", "flush", "dev", "l1"]);
  topo.exec(topo.client, ["ip", "neigh", "flush", "all"]);
  topo.exec(topo.backends, ["ip", "neigh", "flush", "all"]);
}

function restoreKernelAddresses(): void {
  topo.exec(topo.lb, ["ip", "addr", "add", `${LB_ADDR}/24`, "dev", "l0"]);
  topo.exec(topo.lb, ["ip", "addr", "add", `${LB_BACKEND_ADDR}/24`, "dev", "l1"]);
}

// The ports with the addresses kvlb answers ARP for itself.
const BARE_PORTS = [`net_af_packet0,iface=l0,address=${LB_ADDR}`, `net_af_packet1,iface=l1,address=${LB_BACKEND_ADDR}`];

/** Sends one memcached UDP request straight to a backend, from the backends' own namespace. */
function toBackendDirect(port: string, request: string, address = BACKEND_ADDR): string {
  const py = [
    "import socket, sys",
    "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)",
    "s.settimeout(2)",
    `s.sendto(b"\\x00\\x01\\x00\\x00\\x00\\x01\\x00\\x00" + sys.argv[1].encode(), ("${address}", ${port}))`,
    "sys.stdout.write(s.recv(2000)[8:].decode())",
  ].join("\n");
  return topo.exec(topo.backends, ["python3", "-c", py, request]);
}

// A server at an address kvlb has not reached before: its next hop must be found after a reload.
const ADDED_ADDR = "10.10.2.3";

/** kvlb run over DPDK with one server in its file, then two after kvlb reload (the second at an
 * address of its own): every key lands where libmemcached puts it among the two. */
async function reloadAddsServer(t: ExecutionContext, ports: string[], extra: string[]): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "kvlb-dpdk-reload-"));
  const config = join(dir, "kvlb.yaml");
  const servers = [
    { host: BACKEND_ADDR, port: 11211 },
    { host: ADDED_ADDR, port: 11213 },
  ];
  const write = (n: number): void =>
    writeFileSync(
      config,
      `backends:\n${servers
        .slice(0, n)
        .map((s) => `  - ${s.host}:${s.port}\n`)
        .join("")}`,
    );
  write(1);
  topo.exec(topo.backends, ["ip", "addr", "add", `${ADDED_ADDR}/24`, "dev", "b0"]);
  topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", "11213", "-p", "0", "-l", ADDED_ADDR, "-t", "1"]);
  await until("the added server answers", () =>
    toBackendDirect("11213", "version\r\n", ADDED_ADDR).startsWith("VERSION"),
  );
  const kvlb = await runKvlb(t, ports, [...extra, "--config", config], ["--listen", `${LB_ADDR}:11211`], []);
  try {
    write(2);
    const out = topo.exec(topo.lb, [node, cli, "reload", "--admin", ADMIN]);
    t.regex(out, /^reloaded: 2 backends/);
    const keys = Array.from({ length: 24 }, (_, i) => `dr-${i}`);
    const r = nsClient(topo, [
      ...keys.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`),
      ...keys.map((k) => `get ${k}\r\n`),
    ]);
    t.deepEqual(
      r,
      [...keys.map(() => "STORED\r\n"), ...keys.map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\nEND\r\n`)],
      "every set and get through DPDK was answered",
    );
    const homes = libmemcachedHomes(servers, keys);
    keys.forEach((k, i) => {
      const on = servers.map((s) => toBackendDirect(String(s.port), `get ${k}\r\n`, s.host).startsWith("VALUE"));
      t.deepEqual(
        on,
        servers.map((_, b) => b === homes[i]),
        `${k} is on server ${homes[i]} alone`,
      );
    });
    t.true(homes.includes(1), "some keys went to the server the reload added");
    t.deepEqual(
      inLb<StatsView>(["stats"]).backends.map((b) => b.backend),
      servers.map((s) => `${s.host}:${s.port}`),
    );
  } finally {
    await kvlb.stop();
    topo.signalMatching(topo.backends, "11213", "SIGKILL");
    topo.exec(topo.backends, ["ip", "addr", "del", `${ADDED_ADDR}/24`, "dev", "b0"]);
    rmSync(dir, { recursive: true, force: true });
  }
}

(built ? test.serial : test.skip)(
  "over DPDK net_af_xdp, kvlb reload adds a server from the file: kvlb's XDP program steers its replies, and keys land where libmemcached puts them",
  async (t) => {
    await reloadAddsServer(t, ["net_af_xdp0,iface=l0", "net_af_xdp1,iface=l1"], ["--dpdk-args", "--no-huge -m 512"]);
  },
);

(built ? test.serial : test.skip)(
  "ports no kernel serves: kvlb reload adds a server from the file, the core finds it by ARP, and keys land where libmemcached puts them",
  async (t) => {
    stripKernelAddresses();
    try {
      await reloadAddsServer(t, BARE_PORTS, []);
    } finally {
      restoreKernelAddresses();
    }
  },
);

(built ? test.serial : test.skip)(
  "ports no kernel serves: the core probes the backends, so a backend killed with no traffic is marked down, comes back up when restarted, and a flush_all sent straight to it is seen",
  async (t) => {
    stripKernelAddresses();
    try {
      const kvlb = await runKvlb(t, BARE_PORTS);
      const health = (b: number): NonNullable<StatsView["backends"][number]["health"]> => {
        const h = inLb<StatsView>(["stats"]).backends[b]?.health;
        if (!h) throw new Error(`backend ${b} has no health view`);
        return h;
      };
      try {
        await until("both backends to answer the core's probes", () =>
          [0, 1].every((b) => health(b).probeMs !== undefined && health(b).state === "up"),
        );
        // no client sends a request: only the probes can see it go
        t.is(topo.signalMatching(topo.backends, "11212", "SIGKILL"), 1);
        await until("the killed backend to be marked down", () => health(1).state === "down", 5000);
        t.regex(health(1).reason, /probe/);
        t.is(health(0).state, "up", "the other backend stays up");
        topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", "11212", "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
        await until("the restarted backend to be marked up", () => health(1).state === "up", 5000);
        const flushes = health(0).flushes;
        t.is(toBackendDirect("11211", "flush_all\r\n"), "OK\r\n", "memcached took the flush_all");
        await until("the flush to be seen in the probes' cmd_flush", () => health(0).flushes === flushes + 1, 5000);
      } finally {
        await kvlb.stop();
      }
    } finally {
      restoreKernelAddresses();
    }
  },
);

(built ? test.serial : test.skip)("DPDK errors are one line each, exit 2, and leave no runtime files", (t) => {
  const hugepages = Number(readFileSync("/proc/sys/vm/nr_hugepages", "utf8").trim());
  const cases: [string[], RegExp][] = [
    [[], /give at least one --port/],
    [["--port", "net_af_xdp0,iface=nope"], /^kvlb: nope: no such interface$/m],
    [["--port", "net_af_xdp0,iface=l0", "--dpdk-args=--bogus"], /--bogus is not an EAL option/],
    [["--port", "net_af_xdp0,iface=l0", "--queues", "0"], /--queues 0: a whole number, 1 or more/],
    [["--port", "0000:99:00.0"], /--port 0000:99:00\.0: no kernel interface to listen on; give --listen ADDR:PORT/],
    [["--port", "0000:99:00.0", "--listen", "10.0.0.5:11211", "--queues", "2"], /has no kernel address behind it/],
    [["--port", "net_af_xdp0,iface=l0", "--queues", "2"], /net_af_xdp needs 2 combined channels .* use net_af_packet/],
    [["--port", "net_af_packet0,iface=l0,address=10.1"], /address=10.1 is not an IPv4 address/],
    [
      ["--port", "0000:99:00.0", "--listen", "10.0.0.5:11211"],
      /did not create this port; is 0000:99:00.0 bound to vfio-pci/,
    ],
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
