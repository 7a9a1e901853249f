// kvlb is no amplifier and no reflector: a small request for a large reply is capped by its
// source's reply budget, a datagram forged to come from kvlb's own endpoint or a backend's is
// dropped, never answered, and a source outside clients.allow is not served. Real memcached
// servers behind; forged sources through a raw socket (test/support/forge-udp.py, root).
import test from "ava";
import { execFileSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import type { StatsView } from "../../host/control/stats-view.js";
import { portBase } from "../support/ports.js";

const dir = mkdtempSync(join(tmpdir(), "kvlb-amp-"));
let cluster: Cluster;
let closed: Cluster | undefined;

test.before(async () => {
  cluster = await startCluster(portBase("amplification"), 2, ["--timeout", "1000"]);
});
test.after.always(async () => {
  await cluster?.stop();
  await closed?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function stats(c: Cluster): Promise<StatsView> {
  return (await c.stats()) as unknown as StatsView;
}

function forge(src: string, sport: number, dport: number, payload: Buffer): void {
  execFileSync("python3", [
    "test/support/forge-udp.py",
    src,
    String(sport),
    "127.0.0.1",
    String(dport),
    payload.toString("hex"),
  ]);
}

const frame = (id: number, body: string): Buffer =>
  Buffer.concat([Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0]), Buffer.from(body, "latin1")]);

test.serial("a forged get of one 60 KB value 512 times sends its victim under 200x, not 28,000x", async (t) => {
  const c = new UdpClient(cluster.kvlbPort);
  t.teardown(() => c.close());
  const value = "a".repeat(60_000);
  t.is(await c.text(`set amp 0 0 ${value.length}\r\n${value}\r\n`), "STORED\r\n");
  // the victim: an address that never sent kvlb anything, and whose name the attacker forges
  const victim = createSocket("udp4");
  await new Promise<void>((resolve) => victim.bind(0, "127.0.0.9", resolve));
  t.teardown(() => victim.close());
  let bytesOut = 0;
  victim.on("message", (d) => (bytesOut += d.length));
  const before = await stats(cluster);
  const request = frame(77, `get ${Array<string>(512).fill("amp").join(" ")}\r\n`);
  execFileSync("python3", [
    "test/support/forge-udp.py",
    "127.0.0.9",
    String(victim.address().port),
    "127.0.0.1",
    String(cluster.kvlbPort),
    request.toString("hex"),
  ]);
  await new Promise((r) => setTimeout(r, 2500)); // what the victim receives, all of it
  const factor = bytesOut / request.length;
  t.log(`${request.length} B in, ${bytesOut} B out: ${factor.toFixed(1)}x`);
  t.true(factor < 200, `amplification ${factor.toFixed(1)}x`);
  const after = await stats(cluster);
  t.true((after.drops["overBudget"] ?? 0) > (before.drops["overBudget"] ?? 0), "the replies over budget were counted");
  t.is(await c.text("set after-budget 0 0 2\r\nok\r\n"), "STORED\r\n", "other sources are served on");
});

test.serial(
  "datagrams forged from kvlb's own endpoint or a backend's are dropped and counted, never answered",
  async (t) => {
    const before = await stats(cluster);
    const junk = frame(1, "junk\r\n");
    forge("127.0.0.1", cluster.kvlbPort, cluster.kvlbPort, junk); // kvlb to itself: once a ping-pong
    forge("127.0.0.1", cluster.backendPorts[0] ?? 0, cluster.kvlbPort, junk); // a backend to kvlb's client port
    forge("127.0.0.1", cluster.backendPorts[1] ?? 0, cluster.kvlbPort, frame(2, "get x\r\n"));
    const after = await stats(cluster);
    t.is((after.drops["reflected"] ?? 0) - (before.drops["reflected"] ?? 0), 3);
    t.is(after.datagrams.sent, before.datagrams.sent, "nothing was sent in answer");
    t.is(after.datagrams.fromBackends, before.datagrams.fromBackends, "no ERROR ping-pong with a backend");
  },
);

test.serial("a source outside clients.allow is not served, and counted", async (t) => {
  const config = join(dir, "closed.yaml");
  writeFileSync(config, "clients:\n  allow: [10.99.0.0/16]\n");
  closed = await startCluster(portBase("amplification") + 100, 1, ["--config", config]);
  const c = new UdpClient(closed.kvlbPort);
  t.teardown(() => c.close());
  const reply = await c.request("version\r\n", /\r\n$/, 500);
  t.deepEqual(reply, [], "127.0.0.1 is not in 10.99.0.0/16");
  const s = await stats(closed);
  t.is(s.drops["notAllowed"], 1);
  t.regex(closed.output(), /"clients":\["10\.99\.0\.0\/16"\]/, "the startup line names the allow-list");
});
