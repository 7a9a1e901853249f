// The checks that every frame data path (AF_XDP, DPDK) must pass end to end, in the namespaces
// of host/testbed/netns.ts: issue 3's protocol checks, hot keys from the cache, set-then-get,
// and the kernel still serving ping and TCP in the balancer's namespace.
import type { ExecutionContext } from "ava";
import { writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LB_ADDR, CLIENT_ADDR, type Topology } from "../../host/testbed/netns.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { faultModule } from "./fault-modules.js";
import { until } from "./until.js";

const node = process.execPath;

/** Each request from the client namespace, one reply (or "tcp ok: …" for "tcp:PORT") each. */
export function nsClient(topo: Topology, requests: string[]): string[] {
  const out = topo.exec(topo.client, [
    node,
    "--import=tsx",
    "test/support/ns-client.ts",
    LB_ADDR,
    "11211",
    JSON.stringify(requests),
  ]);
  return JSON.parse(out.trim().split("\n").pop() ?? "[]") as string[];
}

/**
 * Runs the checks; `stats` reads the balancer's fresh /stats (counting everything sent before
 * the call). Expects a TCP server on LB_ADDR:7000.
 */
export async function servesOverFrames(
  t: ExecutionContext,
  topo: Topology,
  tag: string,
  stats: () => StatsView,
): Promise<StatsView> {
  const big = "z".repeat(20_000);
  const r = nsClient(topo, [
    `set k-${tag} 0 0 5\r\nhello\r\n`,
    `get k-${tag}\r\n`,
    `set j-${tag} 0 0 2\r\nhi\r\n`,
    `get k-${tag} j-${tag} nothing\r\n`,
    `set big-${tag} 0 0 ${big.length}\r\n${big}\r\n`,
    `get big-${tag}\r\n`,
    "tcp:7000",
    `tcp:11211:get k-${tag}\r\nget nothing-${tag}\r\n`,
  ]);
  t.deepEqual(r.slice(0, 4), [
    "STORED\r\n",
    `VALUE k-${tag} 0 5\r\nhello\r\nEND\r\n`,
    "STORED\r\n",
    `VALUE k-${tag} 0 5\r\nhello\r\nVALUE j-${tag} 0 2\r\nhi\r\nEND\r\n`,
  ]);
  t.is(r[4], "STORED\r\n", "a 20 KB set arrives in IP fragments: the kernel reassembles it for kvlb's socket");
  t.is(r[5], `VALUE big-${tag} 0 ${big.length}\r\n${big}\r\nEND\r\n`);
  t.is(r[6], "tcp ok: hello", "TCP into the balancer's namespace still works");
  t.is(r[7], `tcp ok: VALUE k-${tag} 0 5\r\nhello\r\nEND\r\nEND\r\n`, "a memcached client over TCP is served");
  t.notThrows(
    () => topo.exec(topo.client, ["ping", "-c", "1", "-W", "2", LB_ADDR]),
    "ping into the balancer's namespace still works",
  );

  const hot = nsClient(topo, [
    ...Array<string>(300).fill(`get k-${tag}\r\n`),
    `set k-${tag} 0 0 3\r\nnew\r\n`,
    `get k-${tag}\r\n`,
  ]);
  t.true(hot.slice(0, 300).every((x) => x === `VALUE k-${tag} 0 5\r\nhello\r\nEND\r\n`));
  t.is(hot[301], `VALUE k-${tag} 0 3\r\nnew\r\nEND\r\n`, "a read after an acknowledged write sees it");
  // the first forwards went through the kernel's socket, which made the kernel resolve the
  // backends; the host hands its next hops to the core at its next refresh (once a second)
  await until(
    "the core knows every backend's next hop",
    () => {
      const now = stats();
      return now.frames?.nextHopsKnown === now.backends.length;
    },
    5000,
  );
  const s = stats();
  t.true(s.datagrams.answeredFromCache > 150, `answered from cache: ${s.datagrams.answeredFromCache}`);
  t.true((s.frames?.received ?? 0) > 300);
  t.true((s.frames?.sent ?? 0) > 300);
  t.is(s.frames?.malformed, 0);

  // By now the kernel has resolved the backend (the first forwards went through its socket)
  // and the host has handed that next hop to the core: misses leave as frames.
  const misses = Array.from({ length: 20 }, (_, i) => `get miss-${tag}-${i}\r\n`);
  t.true(nsClient(topo, misses).every((x) => x === "END\r\n"));
  const later = stats();
  t.is(later.frames?.noNextHop, s.frames?.noNextHop, "no forward lacked a next hop");
  t.true(later.datagrams.forwarded >= s.datagrams.forwarded + 20);
  return s;
}

/**
 * Swaps in a module that, for each client datagram, also queues four strays (to the client's
 * port 9999 and to 127.0.0.77:9999, each from the listening port and from the backend port) and
 * checks that the send guard refuses all of them: a listener on the client's 9999 hears nothing,
 * the client is still answered. Swaps the previous module back.
 */
export async function refusesStraySends(
  t: ExecutionContext,
  topo: Topology,
  admin: string,
  stats: () => StatsView,
): Promise<void> {
  const file = join(tmpdir(), `kvlb-send-${process.pid}.wasm`);
  writeFileSync(file, faultModule("send"));
  const listener = topo.spawn(topo.client, [
    node,
    "-e",
    `const s = require("dgram").createSocket("udp4");
     s.on("message", (m) => console.log("stray: " + m.length));
     s.bind(9999, "${CLIENT_ADDR}", () => console.log("listening"));`,
  ]);
  let heard = "";
  listener.stdout?.on("data", (d: Buffer) => (heard += d.toString()));
  try {
    await until("the stray listener is bound", () => heard.includes("listening"));
    const before = stats().datagrams.sendRefused;
    topo.exec(topo.lb, ["curl", "-sf", "--data-binary", `@${file}`, `http://${admin}/module?name=send.wasm`]);
    const requests = 5;
    const r = nsClient(
      topo,
      Array.from({ length: requests }, (_, i) => `set stray-${i} 0 0 1\r\nx\r\n`),
    );
    t.deepEqual(r, Array<string>(requests).fill("STORED\r\n"), "the clients are still answered");
    await until(
      `the guard refused ${4 * requests} strays`,
      () => stats().datagrams.sendRefused >= before + 4 * requests,
    );
    t.is(heard.replace("listening\n", ""), "", `nothing reached ${CLIENT_ADDR}:9999`);
  } finally {
    listener.kill();
    rmSync(file, { force: true });
    topo.exec(topo.lb, ["curl", "-sf", "-X", "POST", `http://${admin}/module/rollback`]);
  }
}
