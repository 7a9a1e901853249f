// The request-id NAT between clients and real memcached servers: a reply that comes after its
// request timed out goes to no one, a value spread over several datagrams closes its request,
// and a full table is answered with a server error, never with a miss no backend reported.
// A backend is made slow by stopping its process (SIGSTOP) and letting it go (SIGCONT).
import test from "ava";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { portBase } from "../support/ports.js";
import { stopProcess } from "../support/stop-process.js";
import { until } from "../support/until.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";

const END = /(END|STORED|SERVER_ERROR[^\r]*)\r\n$/;
const dir = mkdtempSync(join(tmpdir(), "kvlb-nat-"));
let cluster: Cluster;
let small: Cluster | undefined;

interface NatStats {
  nat: { used: number; timeouts: number; overflow: number };
  drops: { late?: number };
  errors: { serverErrors?: number };
}

test.before(async () => {
  cluster = await startCluster(portBase("request-ids"), 2, ["--timeout", "300"]);
});
test.after.always(async () => {
  for (const c of [cluster, small]) {
    for (const m of c?.memcached ?? []) m.kill("SIGCONT");
    await c?.stop();
  }
  rmSync(dir, { recursive: true, force: true });
});

async function text(c: UdpClient, payload: string | Buffer): Promise<string> {
  const m = await c.request(payload, END, 2000); // a server error comes only after the timeout
  return Buffer.concat(m.map((x) => x.payload)).toString("latin1");
}

// libmemcached decides where a key belongs, not kvlb's own ring
async function homeOf(c: Cluster, key: string): Promise<number> {
  const [home = -1] = libmemcachedHomes(
    c.backendPorts.map((port) => ({ host: "127.0.0.1", port })),
    [key],
  );
  return Promise.resolve(home);
}

/** A key that lands on backend `index`. */
async function keyOn(c: Cluster, index: number, prefix: string): Promise<string> {
  for (let i = 0; ; i++) if ((await homeOf(c, `${prefix}-${i}`)) === index) return `${prefix}-${i}`;
}

async function statsOf(c: Cluster): Promise<NatStats> {
  return (await c.stats()) as unknown as NatStats;
}

test.serial(
  "a reply that comes after its request timed out is dropped and counted, and reaches no client",
  async (t) => {
    const slow = await keyOn(cluster, 1, "late");
    const a = new UdpClient(cluster.kvlbPort);
    const b = new UdpClient(cluster.kvlbPort);
    t.teardown(() => {
      a.close();
      b.close();
    });
    t.is(await text(a, `set ${slow} 0 0 8\r\nA-secret\r\n`), "STORED\r\n");
    const before = await statsOf(cluster);
    const victim = cluster.memcached[1];
    t.teardown(() => victim?.kill("SIGCONT"));
    await stopProcess(victim);
    t.is(await text(a, `get ${slow}\r\n`), "SERVER_ERROR backend timed out\r\n", "an error, not a miss");
    // B's requests to the other backend take entries while the stopped one holds A's reply
    const fast = await keyOn(cluster, 0, "fast");
    t.is(await text(b, `set ${fast} 0 0 1\r\nb\r\n`), "STORED\r\n");
    for (let i = 0; i < 20; i++) t.is(await text(b, `get ${fast}\r\n`), `VALUE ${fast} 0 1\r\nb\r\nEND\r\n`);
    victim?.kill("SIGCONT");
    const [toA, toB] = await Promise.all([a.collect(700), b.collect(700)]);
    t.deepEqual(toA, [], "A's late value is not sent after its error");
    t.deepEqual(toB, [], "nor to anyone else");
    const after = await statsOf(cluster);
    // the get's answer, and that of kvlb's own ask for the value if it made one
    t.true((after.drops.late ?? 0) - (before.drops.late ?? 0) >= 1, "the late answer was counted");
    t.is(after.nat.timeouts - before.nat.timeouts, 1);
    t.is(await text(a, `get ${slow}\r\n`), `VALUE ${slow} 0 8\r\nA-secret\r\nEND\r\n`, "the backend serves again");
  },
);

test.serial("a value spread over several datagrams closes its request: one END, no timeout", async (t) => {
  const c = new UdpClient(cluster.kvlbPort);
  t.teardown(() => c.close());
  const value = "v".repeat(5000);
  t.is(await text(c, `set big-value 0 0 ${value.length}\r\n${value}\r\n`), "STORED\r\n");
  const before = await statsOf(cluster);
  const reply = await text(c, "get big-value\r\n");
  t.is(reply, `VALUE big-value 0 ${value.length}\r\n${value}\r\nEND\r\n`);
  t.deepEqual(await c.collect(700), [], "no second END after the timeout");
  const after = await statsOf(cluster);
  t.is(after.nat.timeouts, before.nat.timeouts);
  t.is(after.nat.used, 0, "its entry was given back");
  // with a key of the other backend in the same get, the group's single END still comes last
  const other = await keyOn(cluster, 1 - (await homeOf(cluster, "big-value")), "beside-big");
  t.is(await text(c, `set ${other} 0 0 2\r\nok\r\n`), "STORED\r\n");
  // a datagram lost on a loaded machine leaves a reply incomplete: asked again, up to 3 times
  let both = "";
  for (let i = 0; i < 3 && !(both.includes(`VALUE ${other}`) && both.includes("VALUE big-value")); i++) {
    both = await text(c, `get big-value ${other}\r\n`);
  }
  t.true(both.includes(`VALUE big-value 0 ${value.length}\r\n${value}\r\n`));
  t.true(both.includes(`VALUE ${other} 0 2\r\nok\r\n`));
  t.is(both.match(/END\r\n/g)?.length, 1);
  t.true(both.endsWith("END\r\n"));
});

test.serial(
  "a full request table answers SERVER_ERROR kvlb is overloaded at once; every request gets an error, none a miss",
  async (t) => {
    const config = join(dir, "small-nat.yaml");
    writeFileSync(config, "requests:\n  natEntries: 16\n  timeoutMs: 500\n");
    small = await startCluster(portBase("request-ids") + 100, 1, ["--config", config]);
    const c = new UdpClient(small.kvlbPort);
    t.teardown(() => c.close());
    t.is(await text(c, "set after-full 0 0 1\r\nz\r\n"), "STORED\r\n");
    t.teardown(() => small?.memcached[0]?.kill("SIGCONT"));
    await stopProcess(small.memcached[0]);
    const answers = new Map<number, string>();
    const started = Date.now();
    const collecting = c.collectFrames(
      3000,
      (id, payload) => answers.set(id, payload),
      () => answers.size === 17,
    );
    for (let i = 0; i < 17; i++) c.sendRaw(c.frame(`get held-${i}\r\n`, 1000 + i));
    const overloadedAt = await collecting;
    const kinds = [...answers.values()];
    t.is(answers.size, 17, "every request was answered");
    t.true(
      kinds.every((a) => a === "SERVER_ERROR backend timed out\r\n" || a === "SERVER_ERROR kvlb is overloaded\r\n"),
      kinds.join(""),
    );
    t.is(answers.get(1016), "SERVER_ERROR kvlb is overloaded\r\n", "the last one found the table full");
    t.true((overloadedAt.get(1016) ?? Infinity) - started < 400, "and was answered before any timeout");
    const timedOut = kinds.filter((a) => a.includes("timed out")).length;
    t.true(timedOut >= 8, `${timedOut} held requests timed out`);
    small.memcached[0]?.kill("SIGCONT");
    // the timeouts marked the backend down; once its probes bring it back, the table has room
    let after = "";
    await until("the backend is back and the get is served", async () => {
      after = await text(c, "get after-full\r\n");
      return after === "VALUE after-full 0 1\r\nz\r\nEND\r\n";
    }).catch(() => undefined);
    t.is(after, "VALUE after-full 0 1\r\nz\r\nEND\r\n", "the table has room again");
    const s = await statsOf(small);
    t.is(s.nat.timeouts, timedOut);
    t.true((s.drops.late ?? 0) >= timedOut, "the stopped backend's answers came late and went to no one");
  },
);
