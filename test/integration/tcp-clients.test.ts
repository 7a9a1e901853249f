// Real TCP clients through kvlb, in front of real memcached servers: libmemcached's tools (ASCII
// and binary), pymemcache from Debian, the memjs and memcached npm clients, and a raw socket that
// pipelines. The oracles are the
// values the test wrote, libmemcached's own ketama (where each key must land), and memcached's
// answers read straight from each server.
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, basename } from "node:path";
import { promisify } from "node:util";
import memjs from "memjs";
import Memcached from "memcached";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { portBase } from "../support/ports.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";
import { Conn } from "../support/tcp-conn.js";
import { startMemcached } from "../../host/testbed/memcached.js";
import { until } from "../support/until.js";
import { binaryRequest, binaryResponses, setExtras, OP } from "../support/binary-protocol.js";

const run = promisify(execFile);
let cluster: Cluster;
let dir: string;

test.before(async () => {
  cluster = await startCluster(portBase("tcp-clients"), 3, ["--timeout", "500"]);
  dir = mkdtempSync(join(tmpdir(), "kvlb-tcp-"));
});
test.after.always(async () => {
  await cluster?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const servers = (): string => `127.0.0.1:${cluster.kvlbPort}`;

/** The value a memcached server holds for `key`, asked over UDP straight from it. */
async function heldBy(port: number, key: string): Promise<string | undefined> {
  const c = new UdpClient(port);
  try {
    const body = Buffer.concat((await c.request(`get ${key}\r\n`, /END\r\n$/)).map((m) => m.payload)).toString();
    const m = /^VALUE \S+ \d+ \d+\r\n([\s\S]*)\r\nEND\r\n$/.exec(body);
    return m?.[1];
  } finally {
    c.close();
  }
}

/** Each key's home among the cluster's servers, as libmemcached's ketama places it. */
function homes(keys: readonly string[]): number[] {
  return libmemcachedHomes(
    cluster.backendPorts.map((port) => ({ host: "127.0.0.1", port })),
    keys,
  );
}

const count = (s: string, what: string): number => s.split(what).length - 1;

for (const binary of [false, true]) {
  const mode = binary ? "binary" : "ASCII";
  test.serial(
    `libmemcached's memccp, memccat and memcrm (${mode}) store, read and remove keys over TCP, each on its ketama server`,
    async (t) => {
      const flags = binary ? ["--binary"] : [];
      const files = Array.from({ length: 12 }, (_, i) => join(dir, `tcp-${mode}-${i}.txt`));
      files.forEach((f, i) => writeFileSync(f, `contents of ${basename(f)}: ${"z".repeat(i * 50)}`));
      await run("memccp", [...flags, `--servers=${servers()}`, ...files]);
      const keys = files.map((f) => basename(f));
      const placed = homes(keys);
      for (const [i, key] of keys.entries()) {
        const { stdout } = await run("memccat", [...flags, `--servers=${servers()}`, key]);
        t.is(stdout, `contents of ${key}: ${"z".repeat(i * 50)}\n`, "memccat prints the value and a newline");
        const held = await Promise.all(cluster.backendPorts.map((p) => heldBy(p, key)));
        t.deepEqual(
          held.map((v) => v !== undefined),
          cluster.backendPorts.map((_, b) => b === placed[i]),
          `${key} is on server ${placed[i]} alone`,
        );
      }
      await run("memcrm", [...flags, `--servers=${servers()}`, ...keys]);
      await t.throwsAsync(run("memccat", [...flags, `--servers=${servers()}`, keys[0] ?? ""]), undefined, "gone");
      t.is(await heldBy(cluster.backendPorts[placed[0] ?? 0] ?? 0, keys[0] ?? ""), undefined);
    },
  );
}

test.serial("pymemcache (Debian's) sets, gets many, deletes and counts through kvlb", async (t) => {
  const script = `
from pymemcache.client.base import Client
c = Client(("127.0.0.1", ${cluster.kvlbPort}), connect_timeout=2, timeout=2)
keys = ["py-%d" % i for i in range(40)]
for k in keys: assert c.set(k, ("v-" + k).encode(), noreply=False)
got = c.get_many(keys)
assert all(got[k] == ("v-" + k).encode() for k in keys), got
assert c.add(keys[0], b"x", noreply=False) is False
c.set("py-n", b"10", noreply=False)
assert c.incr("py-n", 5) == 15
assert c.delete(keys[1], noreply=False) is True
assert c.get(keys[1]) is None
print("ok", len(got))
`;
  const { stdout } = await run("/usr/bin/python3", ["-c", script]);
  t.is(stdout.trim(), "ok 40");
  const placed = homes(["py-7"]);
  t.is(await heldBy(cluster.backendPorts[placed[0] ?? 0] ?? 0, "py-7"), "v-py-7", "on its ketama server");
});

test.serial(
  "pymemcache's get_many of 1,500 keys, one get line of more keys than kvlb takes per request, returns every value, and a raw get of them answers each key once and one END",
  async (t) => {
    const script = `
from pymemcache.client.base import Client
c = Client(("127.0.0.1", ${cluster.kvlbPort}), connect_timeout=2, timeout=5)
keys = ["many-%d" % i for i in range(1500)]
c.set_many({k: ("v-" + k).encode() for k in keys}, noreply=False)
for _ in range(300): c.get("many-7")  # hot, and answered from kvlb's cache
got = c.get_many(keys + ["many-missing"])
assert len(got) == 1500 and all(got[k] == ("v-" + k).encode() for k in keys), len(got)
print("ok", len(got))
`;
    const { stdout } = await run("/usr/bin/python3", ["-c", script]);
    t.is(stdout.trim(), "ok 1500");
    const keys = Array.from({ length: 1500 }, (_, i) => `many-${i}`);
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(`get ${keys.join(" ")} many-missing\r\nget many-1\r\n`);
      const all = await c.until((r) => count(r, "END\r\n") === 2, 10_000);
      const [first = "", second = ""] = all.split(/(?<=END\r\n)/);
      const values = [...first.matchAll(/VALUE (\S+) 0 \d+\r\n(\S+)\r\n/g)].map((m) => `${m[1]}=${m[2]}`);
      t.deepEqual(values.sort(), keys.map((k) => `${k}=v-${k}`).sort(), "each key's value once");
      t.true(first.endsWith("END\r\n") && count(first, "END\r\n") === 1, "one END, at the end");
      t.is(second, "VALUE many-1 0 8\r\nv-many-1\r\nEND\r\n", "the next request's reply after it");
    } finally {
      c.destroy();
    }
  },
);

test.serial(
  "a binary quit is answered and closes the connection after the replies before it, and a quitq closes it unanswered, as memcached does (memcached itself is the oracle)",
  async (t) => {
    const exchange = async (
      port: number,
      quit: number,
    ): Promise<{ replies: [number, number, number][]; closed: boolean }> => {
      const c = new Conn(port);
      try {
        c.send(
          Buffer.concat([
            binaryRequest({ opcode: OP.set, key: "bq-k", extras: setExtras(), value: "v", opaque: 1 }),
            binaryRequest({ opcode: OP.get, key: "bq-k", opaque: 2 }),
            binaryRequest({ opcode: quit, opaque: 3 }),
            binaryRequest({ opcode: OP.get, key: "bq-k", opaque: 4 }),
          ]),
        );
        await until("the connection to close", async () => c.isClosed, 5000);
        const replies = binaryResponses(Buffer.from(c.received, "latin1")).map((r): [number, number, number] => [
          r.opcode,
          r.status,
          r.opaque,
        ]);
        return { replies, closed: c.isClosed };
      } finally {
        c.destroy();
      }
    };
    // the cluster's servers speak UDP only: the oracle is a memcached of its own, over TCP
    const twin = await startMemcached([portBase("tcp-clients") + 700], 64, undefined, "tcp");
    t.teardown(() => twin.stop());
    for (const quit of [OP.quit, OP.quitq]) {
      const direct = await exchange(portBase("tcp-clients") + 700, quit);
      const through = await exchange(cluster.kvlbPort, quit);
      t.deepEqual(through, direct, `opcode ${quit}`);
      t.is(through.replies.length, quit === OP.quit ? 3 : 2, `opcode ${quit}: nothing after the quit is answered`);
    }
  },
);

test.serial("300 sets then 300 gets written at once come back in the order of the requests", async (t) => {
  const c = new Conn(cluster.kvlbPort);
  try {
    const n = 300;
    c.send(Array.from({ length: n }, (_, i) => `set pipe-${i} ${i} 0 ${String(i).length}\r\n${i}\r\n`).join(""));
    await c.until((r) => count(r, "STORED\r\n") === n);
    c.send(Array.from({ length: n }, (_, i) => `get pipe-${i}\r\n`).join(""));
    const all = await c.until((r) => count(r, "END\r\n") === n);
    const expected =
      "STORED\r\n".repeat(n) +
      Array.from({ length: n }, (_, i) => `VALUE pipe-${i} ${i} ${String(i).length}\r\n${i}\r\nEND\r\n`).join("");
    t.is(all, expected);
  } finally {
    c.destroy();
  }
});

test.serial("a value too large to forward gets memcached's SERVER_ERROR, and the connection goes on", async (t) => {
  const c = new Conn(cluster.kvlbPort);
  try {
    c.send(`set huge 0 0 200000\r\n${"h".repeat(200000)}\r\nset after 0 0 2\r\nok\r\nget after\r\n`);
    const r = await c.until((s) => s.endsWith("END\r\n"));
    t.is(r, "SERVER_ERROR object too large for cache\r\nSTORED\r\nVALUE after 0 2\r\nok\r\nEND\r\n");
  } finally {
    c.destroy();
  }
});

test.serial("a line that never ends gets CLIENT_ERROR and only that connection is closed", async (t) => {
  const bad = new Conn(cluster.kvlbPort);
  const good = new Conn(cluster.kvlbPort);
  try {
    bad.send(`get ${"k".repeat(200_000)}`);
    t.is(await bad.until((s) => s.endsWith("\r\n")), "CLIENT_ERROR line too long\r\n");
    await bad.until(() => bad.isClosed);
    t.true(bad.isClosed);
    good.send("version\r\n");
    t.regex(await good.until((s) => s.endsWith("\r\n")), /^VERSION \d/);
  } finally {
    bad.destroy();
    good.destroy();
  }
});

test.serial("a client that sends its requests and closes its side still gets every reply, then EOF", async (t) => {
  const c = new Conn(cluster.kvlbPort);
  try {
    c.send("set half 0 0 4\r\nopen\r\nget half\r\nget nothing-here\r\n");
    c.end();
    await c.until(() => c.isClosed);
    t.is(await c.until(() => true), "STORED\r\nVALUE half 0 4\r\nopen\r\nEND\r\nEND\r\n");
  } finally {
    c.destroy();
  }
});

test.serial("a connection from a source outside clients.allow is closed without an answer", async (t) => {
  const config = join(dir, "closed.yaml");
  writeFileSync(config, "clients:\n  allow: [10.99.0.0/16]\n");
  const closed = await startCluster(portBase("tcp-clients") + 100, 1, ["--config", config]);
  const c = new Conn(closed.kvlbPort);
  try {
    c.send("version\r\n");
    await c.until(() => c.isClosed);
    t.is(await c.until(() => true), "", "127.0.0.1 is not in 10.99.0.0/16");
  } finally {
    c.destroy();
    await closed.stop();
  }
});

test.serial("the memjs npm client (binary protocol) sets, gets, deletes and misses through kvlb", async (t) => {
  const client = memjs.Client.create(servers(), { retries: 0, timeout: 2 });
  try {
    for (let i = 0; i < 20; i++) t.true(await client.set(`memjs-${i}`, `value ${i}`, { expires: 0 }));
    for (let i = 0; i < 20; i++) t.is((await client.get(`memjs-${i}`)).value?.toString(), `value ${i}`);
    t.true(await client.delete("memjs-3"));
    t.is((await client.get("memjs-3")).value, null, "a miss memcached reported");
    const placed = homes(["memjs-5"]);
    t.is(await heldBy(cluster.backendPorts[placed[0] ?? 0] ?? 0, "memjs-5"), "value 5", "on its ketama server");
  } finally {
    client.close();
  }
});

test.serial("the memcached npm client (ASCII) sets and reads many keys at once through kvlb", async (t) => {
  const client = new Memcached(servers(), { retries: 0, timeout: 2000 });
  try {
    const keys = Array.from({ length: 30 }, (_, i) => `npm-${i}`);
    for (const k of keys) await promisify(client.set.bind(client))(k, `v-${k}`, 0);
    const got = (await promisify(client.getMulti.bind(client))(keys)) as Record<string, string>;
    t.deepEqual(got, Object.fromEntries(keys.map((k) => [k, `v-${k}`])));
    t.is(await promisify(client.get.bind(client))("npm-none"), undefined, "a miss");
  } finally {
    client.end();
  }
});

test.serial(
  "kvlb's stats count the connections and the requests taken from them, and no reply as a failed send",
  async (t) => {
    const before = (await cluster.stats()) as unknown as {
      tcp: { accepted: number; requests: number; open: number };
      datagrams: { sendFailed: number };
    };
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send("get counted-1\r\nget counted-2\r\nversion\r\n");
      await c.until((s) => s.includes("VERSION"));
      const after = (await cluster.stats()) as unknown as typeof before;
      t.is(after.tcp.accepted - before.tcp.accepted, 1);
      t.is(after.tcp.requests - before.tcp.requests, 3);
      t.true(after.tcp.open >= 1);
      t.is(after.datagrams.sendFailed, before.datagrams.sendFailed, "a reply written to a connection was sent");
    } finally {
      c.destroy();
    }
  },
);

test.serial("a client that closes its side after its replies came sees kvlb close the connection", async (t) => {
  const c = new Conn(cluster.kvlbPort);
  try {
    c.send("version\r\n");
    await c.until((s) => s.endsWith("\r\n"));
    c.end();
    await c.until(() => c.isClosed, 3000);
    t.true(c.isClosed);
  } finally {
    c.destroy();
  }
});

/** Waits until kvlb's stats say `ok`, or fails the test after `ms`. */
async function statsUntil(ok: (tcp: { open: number; bytesOut: number }) => boolean, ms = 5000): Promise<number> {
  const end = Date.now() + ms;
  for (;;) {
    const s = (await cluster.stats()) as unknown as { tcp: { open: number; bytesOut: number } };
    if (ok(s.tcp)) return s.tcp.open;
    if (Date.now() > end) throw new Error(`timed out; tcp stats ${JSON.stringify(s.tcp)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test.serial("a client that sends half a request, waits and closes its side is closed by kvlb", async (t) => {
  const before = await statsUntil(() => true);
  const c = new Conn(cluster.kvlbPort);
  try {
    await statsUntil((s) => s.open === before + 1);
    c.send("get half-a-requ");
    // the core has seen the partial line by the time the FIN comes
    await new Promise((r) => setTimeout(r, 200));
    c.end();
    await c.until(() => c.isClosed, 3000);
    t.true(c.isClosed);
    t.is(await statsUntil((s) => s.open === before, 3000), before);
  } finally {
    c.destroy();
  }
});

test.serial("a client that stops reading its replies and then resets is closed by kvlb", async (t) => {
  const before = await statsUntil(() => true);
  const value = "v".repeat(50_000);
  const c = new Conn(cluster.kvlbPort);
  try {
    c.send(`set deaf-reader 0 0 ${value.length}\r\n${value}\r\n`);
    await c.until((s) => s.includes("STORED\r\n"));
    c.pause();
    const start = ((await cluster.stats()) as unknown as { tcp: { bytesOut: number } }).tcp.bytesOut;
    c.send("get deaf-reader\r\n".repeat(1000)); // 50 MB of replies: far more than the buffers hold
    // kvlb has filled the socket and its own buffer once what it wrote stays put for a second
    let last = -1;
    let since = Date.now();
    await statsUntil((s) => {
      if (s.bytesOut !== last) [last, since] = [s.bytesOut, Date.now()];
      return s.bytesOut > start && Date.now() - since > 1000;
    }, 15_000);
    c.reset();
    t.is(await statsUntil((s) => s.open === before, 3000), before);
  } finally {
    c.destroy();
  }
});

test.serial(
  "tcp.maxConnections and tcp.idleSeconds: one connection over the limit is closed at once, idle ones after their time",
  async (t) => {
    const config = join(dir, "limits.yaml");
    writeFileSync(config, "tcp:\n  maxConnections: 2\n  idleSeconds: 1\n");
    const limited = await startCluster(portBase("tcp-clients") + 200, 1, ["--config", config]);
    const conns = [new Conn(limited.kvlbPort), new Conn(limited.kvlbPort)];
    try {
      for (const c of conns) {
        c.send("version\r\n");
        await c.until((s) => s.startsWith("VERSION"));
      }
      const third = new Conn(limited.kvlbPort);
      conns.push(third);
      third.send("version\r\n");
      await third.until(() => third.isClosed);
      t.is(await third.until(() => true), "", "the third is closed unanswered");
      const first = conns[0];
      await first?.until(() => first.isClosed, 4000);
      t.true(first?.isClosed, "an idle connection is closed after idleSeconds");
      const s = (await limited.stats()) as unknown as { tcp: { refused: number; idleClosed: number } };
      t.is(s.tcp.refused, 1);
      t.is(s.tcp.idleClosed, 2);
    } finally {
      for (const c of conns) c.destroy();
      await limited.stop();
    }
  },
);

test.serial("tcp.enabled false: nothing listens for TCP, and UDP is served as before", async (t) => {
  const config = join(dir, "no-tcp.yaml");
  writeFileSync(config, "tcp:\n  enabled: false\n");
  const udpOnly = await startCluster(portBase("tcp-clients") + 300, 1, ["--config", config]);
  const c = new Conn(udpOnly.kvlbPort);
  const u = new UdpClient(udpOnly.kvlbPort);
  try {
    await c.until(() => c.isClosed);
    t.true(c.isClosed, "the connection is refused");
    const reply = Buffer.concat((await u.request("version\r\n", /\r\n$/)).map((m) => m.payload)).toString();
    t.regex(reply, /^VERSION /);
  } finally {
    c.destroy();
    u.close();
    await udpOnly.stop();
  }
});
