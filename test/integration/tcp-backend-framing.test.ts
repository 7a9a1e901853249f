// How kvlb writes requests on its TCP connections to memcached: a get line goes with no marker
// after it (its reply ends itself), and gets of one key each that leave in one burst are merged
// into one line, each reply cut from memcached's answer by its key. The cache and the replicas are
// off, so that what reaches the backends is the clients' requests alone. The oracles are each
// server's own answers to the same requests, and the bytes kvlb counts as written to the backends.
import test from "ava";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { portBase } from "../support/ports.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";
import { Conn } from "../support/tcp-conn.js";
import { until } from "../support/until.js";

const base = portBase("tcp-backend-framing");
let cluster: Cluster;
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvlb-tcp-framing-"));
  const config = join(dir, "kvlb.yaml");
  writeFileSync(config, "tcp:\n  backends: true\n  backendConnections: 2\n");
  cluster = await startCluster(
    base,
    3,
    ["--config", config, "--timeout", "500", "--cache", "off", "--replicas", "off"],
    64,
    undefined,
    "tcp",
  );
});
test.after.always(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function homes(keys: readonly string[]): number[] {
  return libmemcachedHomes(
    cluster.backendPorts.map((port) => ({ host: "127.0.0.1", port })),
    keys,
  );
}

interface TcpBackendBytes {
  tcpBackends: { bytesOut: number; replies: number; badReplies: number };
}

/** The TCP backends' counters once two reports in a row agree: every reply so far is in them. */
async function settled(): Promise<TcpBackendBytes> {
  let last = (await cluster.stats()) as unknown as TcpBackendBytes;
  let now = last;
  await until(
    "kvlb's reports stop changing",
    async () => {
      await new Promise((r) => setTimeout(r, 600)); // a report comes every 500 ms
      [last, now] = [now, (await cluster.stats()) as unknown as TcpBackendBytes];
      return (
        now.tcpBackends.replies === last.tcpBackends.replies && now.tcpBackends.bytesOut === last.tcpBackends.bytesOut
      );
    },
    10_000,
  );
  return now;
}

/** What a server (kvlb or a memcached) answers `request` with, on a connection of its own. */
async function ask(port: number, request: string, done: (s: string) => boolean, ms = 5000): Promise<string> {
  const c = new Conn(port);
  try {
    c.send(request);
    return await c.until(done, ms);
  } finally {
    c.destroy();
  }
}

test.serial(
  "a get line goes to its backend with no marker after it, and values holding END and MN lines come back whole, as the server answers them",
  async (t) => {
    // keys on every server, each value full of the lines that end a reply
    const keys = ["tricky-a", "tricky-b", "tricky-c", "tricky-d", "tricky-e", "tricky-f"];
    const placed = homes(keys);
    t.is(new Set(placed).size, 3, "the keys lie on all three servers");
    const value = (i: number): string => `END\r\nMN\r\nVALUE x 0 1\r\nERROR\r\n${i}`;
    const stores = keys.map((k, i) => `set ${k} ${i} 0 ${value(i).length}\r\n${value(i)}\r\n`).join("");
    await ask(cluster.kvlbPort, stores, (s) => s === "STORED\r\n".repeat(keys.length));
    for (const [i, key] of keys.entries()) {
      const whole = (s: string): boolean => s.endsWith("END\r\n") && s.length > value(i).length + 5;
      for (const verb of ["get", "gets", "gat 0"]) {
        const got = await ask(cluster.kvlbPort, `${verb} ${key}\r\n`, whole);
        // the oracle: the server that holds the key, asked the same
        const held = await ask(cluster.backendPorts[placed[i] ?? 0] ?? 0, `${verb} ${key}\r\n`, whole);
        t.is(got, held, `${verb} ${key}`);
      }
    }
    // a get adds its own line to what kvlb wrote to the backends, and nothing else
    const before = await settled();
    const line = "get tricky-missing\r\n";
    t.is(await ask(cluster.kvlbPort, line, (s) => s.endsWith("END\r\n")), "END\r\n");
    let after = before;
    await until("the worker reports the get's reply", async () => {
      after = (await cluster.stats()) as unknown as TcpBackendBytes;
      return after.tcpBackends.replies > before.tcpBackends.replies;
    });
    t.is(after.tcpBackends.bytesOut - before.tcpBackends.bytesOut, line.length);
    t.is(after.tcpBackends.badReplies, 0);
  },
);

test.serial(
  "pipelined gets of one key each are merged into one line per backend connection, and each reply (hit, miss, repeat, gets) is the one its server gives",
  async (t) => {
    const stored = Array.from({ length: 24 }, (_, i) => `merge-${i}`);
    const value = (k: string): string => `${k}:END\r\nVALUE ${k} 0 3\r\n`;
    await ask(
      cluster.kvlbPort,
      stored.map((k, i) => `set ${k} ${i} 0 ${value(k).length}\r\n${value(k)}\r\n`).join(""),
      (s) => s === "STORED\r\n".repeat(stored.length),
    );
    // hits and misses in turn, a key asked twice in a row, and gets among them
    const requests: string[] = [];
    stored.forEach((k, i) => {
      requests.push(`get ${k}\r\n`, `get merge-missing-${i}\r\n`);
      if (i % 5 === 0) requests.push(`get ${k}\r\n`, `gets ${k}\r\n`, `gets merge-missing-${i}\r\n`);
    });
    const placed = homes(requests.map((r) => r.split(" ")[1]?.trim() ?? ""));
    const expected: string[] = [];
    for (const [i, r] of requests.entries()) {
      expected.push(await ask(cluster.backendPorts[placed[i] ?? 0] ?? 0, r, (s) => s.endsWith("END\r\n")));
    }
    const before = await settled();
    const got = await ask(cluster.kvlbPort, requests.join(""), (s) => s.length >= expected.join("").length, 10_000);
    t.is(got, expected.join(""));
    let after = before;
    await until("the worker reports every reply", async () => {
      after = (await cluster.stats()) as unknown as TcpBackendBytes;
      return after.tcpBackends.replies >= before.tcpBackends.replies + requests.length;
    });
    // each key that joined a line saved its own "get" and line end
    const separately = requests.reduce((n, r) => n + r.length, 0);
    t.true(
      after.tcpBackends.bytesOut - before.tcpBackends.bytesOut < separately - 5 * 10,
      `${after.tcpBackends.bytesOut - before.tcpBackends.bytesOut} bytes to the backends, ${separately} unmerged`,
    );
    t.is(after.tcpBackends.badReplies, 0);
  },
);
