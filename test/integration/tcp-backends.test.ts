// kvlb in front of memcached servers that speak TCP only (memcached's default: no UDP listener),
// with tcp.backends on. The oracles are the values the test wrote, libmemcached's own ketama
// (where each key must land), and each server's answers read straight from it over TCP.
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, basename } from "node:path";
import { promisify } from "node:util";
import { startCluster, type Cluster } from "../support/cluster.js";
import { startMemcached, type MemcachedSet } from "../../host/testbed/memcached.js";
import { UdpClient } from "../support/udp-client.js";
import { portBase } from "../support/ports.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";
import { Conn } from "../support/tcp-conn.js";
import { until } from "../support/until.js";
import { residentBytes } from "../support/resident.js";
import { binaryRequest, binaryResponses, setExtras, OP, STATUS } from "../support/binary-protocol.js";

const run = promisify(execFile);
const base = portBase("tcp-backends");
let cluster: Cluster;
let dir: string;
let config: string;
const restarted: MemcachedSet[] = [];

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvlb-tcp-backends-"));
  config = join(dir, "kvlb.yaml");
  writeFileSync(config, "tcp:\n  backends: true\n  backendConnections: 2\n");
  cluster = await startCluster(base, 3, ["--config", config, "--timeout", "500"], 64, undefined, "tcp");
});
test.after.always(async () => {
  await cluster?.stop();
  await Promise.all(restarted.map((s) => s.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const servers = (): string => `127.0.0.1:${cluster.kvlbPort}`;

interface TcpBackendStats {
  tcpBackends: { open: number; connects: number; failures: number; badReplies: number; replies: number };
  backends: { health: { state: string } }[];
}
const stats = async (c: Cluster = cluster): Promise<TcpBackendStats> => (await c.stats()) as unknown as TcpBackendStats;

/** The value a memcached server holds for `key`, asked straight from it over TCP. */
async function heldBy(port: number, key: string): Promise<string | undefined> {
  const c = new Conn(port);
  try {
    c.send(`get ${key}\r\n`);
    const body = await c.until((s) => s.endsWith("END\r\n"));
    return /^VALUE \S+ \d+ \d+\r\n([\s\S]*)\r\nEND\r\n$/.exec(body)?.[1];
  } finally {
    c.destroy();
  }
}

function homes(keys: readonly string[]): number[] {
  return libmemcachedHomes(
    cluster.backendPorts.map((port) => ({ host: "127.0.0.1", port })),
    keys,
  );
}

/** Printable bytes, different for each seed. */
function filler(bytes: number, seed: number): string {
  let s = "";
  let x = seed * 2654435761;
  while (s.length < bytes) {
    x = (x * 1103515245 + 12345) >>> 0;
    s += String.fromCharCode(0x21 + (x % 94));
  }
  return s;
}

for (const binary of [false, true]) {
  const mode = binary ? "binary" : "ASCII";
  test.serial(
    `memccp and memccat (${mode}) store and read back values of 100 KB and 1,000,000 bytes, larger than any datagram, each on its ketama server`,
    async (t) => {
      const flags = binary ? ["--binary"] : [];
      const sizes = [100_000, 1_000_000];
      const files = sizes.map((n, i) => join(dir, `big-${mode}-${i}.txt`));
      files.forEach((f, i) => writeFileSync(f, filler(sizes[i] ?? 0, i + (binary ? 10 : 0))));
      await run("memccp", [...flags, `--servers=${servers()}`, ...files]);
      const keys = files.map((f) => basename(f));
      const placed = homes(keys);
      for (const [i, key] of keys.entries()) {
        const expected = readFileSync(files[i] ?? "", "latin1");
        const { stdout } = await run("memccat", [...flags, `--servers=${servers()}`, key], {
          maxBuffer: 4 << 20,
          encoding: "latin1",
        });
        t.is(stdout.length, expected.length + 1, `${key}: memccat prints ${expected.length} bytes and a newline`);
        t.true(stdout === `${expected}\n`, `${key}: the bytes are the ones stored`);
        const held = await Promise.all(cluster.backendPorts.map((p) => heldBy(p, key)));
        t.deepEqual(
          held.map((v) => v !== undefined),
          cluster.backendPorts.map((_, b) => b === placed[i]),
          `${key} is on server ${placed[i]} alone`,
        );
      }
    },
  );
}

test.serial(
  "a UDP client reads a 30 KB value through TCP backends in 1,400-byte datagrams, as memcached sends it",
  async (t) => {
    const value = filler(30_000, 7);
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(`set udp-big 5 0 ${value.length}\r\n${value}\r\n`);
      await c.until((s) => s.endsWith("STORED\r\n"));
    } finally {
      c.destroy();
    }
    const u = new UdpClient(cluster.kvlbPort);
    try {
      const datagrams: string[] = [];
      u.sendRaw(u.frame("get udp-big\r\n", 77));
      await u.collectFrames(
        5000,
        (id, payload) => {
          if (id === 77) datagrams.push(payload);
        },
        () => datagrams.join("").endsWith("END\r\n"),
      );
      t.is(datagrams.length, Math.ceil((value.length + 31) / 1392), `${datagrams.length} datagrams`);
      t.true(
        datagrams.every((d) => d.length <= 1392),
        "each datagram holds at most 1,392 bytes after its header",
      );
      t.is(datagrams.join(""), `VALUE udp-big 5 ${value.length}\r\n${value}\r\nEND\r\n`);
    } finally {
      u.close();
    }
  },
);

test.serial(
  "200 pipelined sets and gets over one client connection come back in order through the pooled backend connections",
  async (t) => {
    const keys = Array.from({ length: 100 }, (_, i) => `pipe-${i}`);
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(keys.map((k, i) => `set ${k} 0 0 ${String(i).length + 2}\r\nv-${i}\r\n`).join(""));
      c.send(keys.map((k) => `get ${k}\r\n`).join(""));
      const expected =
        keys.map(() => "STORED\r\n").join("") +
        keys.map((k, i) => `VALUE ${k} 0 ${String(i).length + 2}\r\nv-${i}\r\nEND\r\n`).join("");
      const got = await c.until((s) => s.length >= expected.length, 10_000);
      t.is(got, expected);
    } finally {
      c.destroy();
    }
    const s = await stats();
    t.is(s.tcpBackends.open, 3 * 2 * 2, "two ASCII and two binary connections to each of the three servers");
    t.is(s.tcpBackends.badReplies, 0);
  },
);

// Binary requests whose lengths add up but whose shape memcached refuses for their opcode (the
// extras it needs, a key where none belongs, a body beyond the key).
const misshapen: [string, Buffer][] = [
  ["touch without its expiry", binaryRequest({ opcode: 0x1c, key: "shape-k" })],
  ["get with extras", binaryRequest({ opcode: OP.get, key: "shape-k", extras: Buffer.alloc(4) })],
  ["increment with 8 bytes of extras", binaryRequest({ opcode: 0x05, key: "shape-k", extras: Buffer.alloc(8) })],
  [
    "set with 4 bytes of extras",
    binaryRequest({ opcode: OP.set, key: "shape-k", extras: Buffer.alloc(4), value: "v" }),
  ],
  ["delete with a value", binaryRequest({ opcode: OP.delete, key: "shape-k", value: "v" })],
  ["noop with a key", binaryRequest({ opcode: OP.noop, key: "shape-k" })],
  [
    "gat with a value after its key",
    binaryRequest({ opcode: 0x1d, key: "shape-k", extras: Buffer.alloc(4), value: "v".repeat(24) }),
  ],
];

test.serial(
  "misshapen binary requests, over which memcached closes its connection, are answered Invalid arguments by kvlb and never reach a backend",
  async (t) => {
    const port = cluster.backendPorts[0] ?? 0;
    for (const [name, request] of misshapen) {
      // the oracle: memcached itself drops a connection that sends it
      const direct = new Conn(port);
      try {
        direct.send(request);
        await until(`memcached to close a connection over ${name}`, async () => direct.isClosed, 5000);
      } finally {
        direct.destroy();
      }
    }
    const before = await stats();
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(
        Buffer.concat([
          binaryRequest({ opcode: OP.set, key: "shape-k", extras: setExtras(), value: "kept", opaque: 100 }),
          ...misshapen.map(([, r], i) => {
            const copy = Buffer.from(r);
            copy.writeUInt32BE(i + 1, 12);
            return copy;
          }),
          binaryRequest({ opcode: OP.get, key: "shape-k", opaque: 200 }),
        ]),
      );
      const got = await c.until((s) => binaryResponses(Buffer.from(s, "latin1")).length === misshapen.length + 2);
      const replies = binaryResponses(Buffer.from(got, "latin1"));
      t.deepEqual(
        replies.map((r) => [r.opaque, r.status]),
        [[100, STATUS.ok], ...misshapen.map((_, i) => [i + 1, STATUS.invalidArguments]), [200, STATUS.ok]],
      );
      t.true(replies.at(-1)?.value.endsWith("kept"), "the get after them reads the value set before them");
      t.false(c.isClosed);
    } finally {
      c.destroy();
    }
    const after = await stats();
    t.is(after.tcpBackends.failures, before.tcpBackends.failures, "no backend connection was lost");
  },
);

/** The TTL memcached holds for `key`, asked straight from it with meta `mg <key> t`. */
async function ttlHeldBy(port: number, key: string): Promise<number | undefined> {
  const c = new Conn(port);
  try {
    c.send(`mg ${key} t\r\n`);
    const reply = await c.until((s) => s.endsWith("\r\n"));
    const m = /^HD t(-?\d+)\r\n$/.exec(reply);
    return m ? Number(m[1]) : undefined;
  } finally {
    c.destroy();
  }
}

/** Whether memcached itself drops a connection that sends `line`, its first 2,100 bytes first. */
async function memcachedCloses(port: number, line: string): Promise<boolean> {
  const direct = new Conn(port);
  try {
    direct.send(line.slice(0, 2100));
    await new Promise((r) => setTimeout(r, 50));
    direct.send(line.slice(2100));
    return await until("memcached to close the connection", async () => direct.isClosed, 3000).then(
      () => true,
      () => false,
    );
  } finally {
    direct.destroy();
  }
}

test.serial(
  "a gat of 400 keys, a line memcached closes its connection over, reaches the backends in lines under 2,048 bytes: every key comes back, each holds the new TTL, no backend connection is lost",
  async (t) => {
    const keys = Array.from({ length: 400 }, (_, i) => `gat-long-${String(i).padStart(40, "0")}`);
    const line = `gat 1000 ${keys.join(" ")}\r\n`;
    t.true(await memcachedCloses(cluster.backendPorts[0] ?? 0, line), "memcached closes a connection over the line");
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(keys.map((k) => `set ${k} 0 0 ${k.length}\r\n${k}\r\n`).join(""));
      await c.until((s) => s.split("STORED\r\n").length - 1 === keys.length);
      const before = await stats();
      const from = c.received.length;
      c.send(line);
      const got = (await c.until((s) => s.endsWith("END\r\n") && s.length > from, 10_000)).slice(from);
      const values = [...got.matchAll(/VALUE (\S+) 0 \d+\r\n(\S+)\r\n/g)].map((m) => [m[1], m[2]]);
      // grouped by backend, as kvlb joins its backends' replies
      t.deepEqual(
        values.sort(),
        keys.map((k) => [k, k]),
        "every key's value",
      );
      t.false(c.isClosed);
      const after = await stats();
      t.is(after.tcpBackends.failures, before.tcpBackends.failures, "no backend connection was lost");
    } finally {
      c.destroy();
    }
    const placed = homes(keys);
    for (const i of [0, 199, 399]) {
      const ttl = await ttlHeldBy(cluster.backendPorts[placed[i] ?? 0] ?? 0, keys[i] ?? "");
      t.true(ttl !== undefined && ttl > 900 && ttl <= 1000, `${keys[i]} holds a TTL near 1000 s (${ttl})`);
    }
  },
);

test.serial(
  "a touch or mg line padded past 2,048 bytes, over which memcached closes its connection, is answered CLIENT_ERROR and never reaches a backend",
  async (t) => {
    const padded = [`touch pad-k 0${" ".repeat(3000)}\r\n`, `mg pad-k v${" ".repeat(3000)}\r\n`];
    for (const line of padded)
      t.true(await memcachedCloses(cluster.backendPorts[0] ?? 0, line), "memcached closes a connection over it");
    const before = await stats();
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(`set pad-k 0 0 4\r\nkept\r\n${padded.join("")}get pad-k\r\n`);
      const got = await c.until((s) => s.endsWith("END\r\n"));
      t.is(
        got,
        "STORED\r\nCLIENT_ERROR line too long\r\nCLIENT_ERROR line too long\r\nVALUE pad-k 0 4\r\nkept\r\nEND\r\n",
      );
      t.false(c.isClosed);
    } finally {
      c.destroy();
    }
    const after = await stats();
    t.is(after.tcpBackends.failures, before.tcpBackends.failures, "no backend connection was lost");
  },
);

/** Sends `requests` in order on one connection and returns the replies, one per request. */
async function replies(port: number, requests: string[], ends: RegExp): Promise<string> {
  const c = new Conn(port);
  try {
    for (const r of requests) c.send(r);
    return await c.until((s) => (s.match(ends) ?? []).length === requests.length, 10_000);
  } finally {
    c.destroy();
  }
}

test.serial(
  "a set too large for memcached's 1 MB item, over a key that holds a value, is refused and leaves no old value behind, as memcached does, even when kvlb cached it",
  async (t) => {
    const big = "B".repeat(1024 * 1024 + 2048);
    const sequence = (key: string): string[] => [
      `set ${key} 0 0 3\r\nMOO\r\n`,
      `set ${key} 0 0 ${big.length}\r\n${big}\r\n`,
      `get ${key}\r\n`,
    ];
    const ends = /(STORED|SERVER_ERROR [^\r]*|END)\r\n/g;
    // the oracle: memcached itself
    const direct = await replies(cluster.backendPorts[0] ?? 0, sequence("big-direct"), ends);
    t.is(direct, "STORED\r\nSERVER_ERROR object too large for cache\r\nEND\r\n");
    // through kvlb, with the old value made hot enough to be cached first
    const key = "big-through";
    await replies(cluster.kvlbPort, [`set ${key} 0 0 3\r\nMOO\r\n`], ends);
    await replies(cluster.kvlbPort, Array<string>(300).fill(`get ${key}\r\n`), /END\r\n/g);
    const through = await replies(cluster.kvlbPort, sequence(key).slice(1), ends);
    t.is(through, "SERVER_ERROR object too large for cache\r\nEND\r\n");
    t.is(await heldBy(cluster.backendPorts[homes([key])[0] ?? 0] ?? 0, key), undefined, "its server holds nothing");
  },
);

test.serial("a backend killed and started again is reconnected: its keys are served from it again", async (t) => {
  const key = Array.from({ length: 200 }, (_, i) => `back-${i}`).find((k) => homes([k])[0] === 0) ?? "";
  const port = cluster.backendPorts[0] ?? 0;
  const before = await stats();
  cluster.memcached[0]?.kill("SIGKILL");
  await until(
    "the backend to be marked down",
    async () => (await stats()).backends[0]?.health.state === "down",
    10_000,
  );
  restarted.push(await startMemcached([port], 64, undefined, "tcp"));
  await until("the backend to be marked up", async () => (await stats()).backends[0]?.health.state === "up", 10_000);
  // the pool reconnects within its backoff; a set answered STORED went to the restarted server
  await until(
    "a set through kvlb to land on the restarted server",
    async () => {
      const c = new Conn(cluster.kvlbPort);
      try {
        c.send(`set ${key} 0 0 5\r\nagain\r\n`);
        return (await c.until((s) => s.endsWith("\r\n"))) === "STORED\r\n" && (await heldBy(port, key)) === "again";
      } finally {
        c.destroy();
      }
    },
    10_000,
  );
  const after = await stats();
  t.true(after.tcpBackends.failures > before.tcpBackends.failures, "the broken connections were seen to fail");
  t.true(after.tcpBackends.connects > before.tcpBackends.connects, "and made anew");
  t.is(await heldBy(port, key), "again");
});

test.serial(
  "a backend whose reply declares a value larger than kvlb takes is cut off: the client gets SERVER_ERROR, not a hang",
  async (t) => {
    // a hostile or broken server: a sane stats answer for the health check, then nonsense
    const fakePort = base + 500;
    const fake: Server = createServer((s) => {
      s.on("data", (d: Buffer) => {
        if (d.toString().startsWith("stats")) s.write("STAT pid 1\r\nSTAT uptime 10\r\nSTAT cmd_flush 0\r\nEND\r\n");
        else s.write("VALUE k 0 99999999999\r\n");
      });
      s.on("error", () => undefined);
    });
    await new Promise<void>((r) => fake.listen(fakePort, "127.0.0.1", r));
    const lone = await startCluster(
      base + 600,
      0,
      ["--config", config, "--timeout", "300", "--backend", `127.0.0.1:${fakePort}`],
      64,
      undefined,
      "tcp",
    );
    try {
      const c = new Conn(lone.kvlbPort);
      try {
        c.send("get k\r\n");
        t.regex(await c.until((s) => s.endsWith("\r\n"), 5000), /^SERVER_ERROR /);
      } finally {
        c.destroy();
      }
      await until("the bad reply to be counted", async () => (await stats(lone)).tcpBackends.badReplies >= 1);
      t.pass();
    } finally {
      await lone.stop();
      fake.close();
    }
  },
);

/** kvlb's resident memory in bytes, as the kernel counts it. */
const kvlbResident = (): number => residentBytes(cluster.kvlb.pid ?? 0);

test.serial(
  "a client that pipelines 100 MB of replies without reading makes kvlb hold under 30 MB for it, and reading gets them all in order",
  async (t) => {
    const value = "w".repeat(50_000);
    const c = new Conn(cluster.kvlbPort);
    try {
      c.send(`set slow-reader 0 0 ${value.length}\r\n${value}\r\n`);
      await c.until((s) => s.includes("STORED\r\n"));
      c.pause();
      const rssBefore = kvlbResident();
      const bytesOut = async (): Promise<number> =>
        ((await cluster.stats()) as unknown as { tcp: { bytesOut: number } }).tcp.bytesOut;
      const start = await bytesOut();
      const gets = 2000;
      c.send("get slow-reader\r\n".repeat(gets));
      // kvlb has filled the socket and its own buffer once what it wrote stays put for a second
      let last = -1;
      let since = Date.now();
      await until(
        "kvlb stops writing to the reader",
        async () => {
          const now = await bytesOut();
          if (now !== last) [last, since] = [now, Date.now()];
          return now > start && Date.now() - since > 1000;
        },
        15_000,
      );
      const held = kvlbResident() - rssBefore;
      t.true(held < 30 << 20, `kvlb grew by ${(held / 2 ** 20).toFixed(1)} MB for one reader`);
      c.resume();
      const reply = `VALUE slow-reader 0 ${value.length}\r\n${value}\r\nEND\r\n`;
      const got = await c.until((s) => s.length >= 8 + gets * reply.length, 30_000);
      t.is(got.slice(8), reply.repeat(gets));
    } finally {
      c.destroy();
    }
  },
);
