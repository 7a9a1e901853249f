// Hostile TCP clients against kvlb in front of real memcached servers: streams of mutated
// requests (the same generator as the datagram fuzz) written in random pieces over many
// connections, with clients that half-close, reset mid-request, never read their replies, or
// send a line that never ends. Before: stable keys are stored through kvlb. After: kvlb must be
// alive, hold no connection the fuzz left, answer over TCP and UDP, every backend must still
// answer a client that talks to it directly, and every stable key must read back exactly.
import { connect, type Socket } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { Conn } from "../support/tcp-conn.js";
import { until } from "../support/until.js";
import { residentBytes } from "../support/resident.js";
import { answersVersion, answersVersionTcp } from "../../host/testbed/memcached.js";
import { Rng, hostileRequests, type Fuzzed } from "./mutate.js";

export interface StreamFuzzOptions {
  /** Hostile requests to write, over all connections. */
  requests: number;
  seed: number;
  /** Connections open at once. */
  connections: number;
  basePort: number;
  /** kvlb reaches its backends over TCP (tcp.backends) rather than UDP. */
  tcpBackends: boolean;
  progress?: (line: string) => void;
}

export interface StreamFuzzReport {
  requests: number;
  bytesWritten: number;
  byFamily: Record<Fuzzed["family"], number>;
  /** Connections the fuzz opened, and how many of them kvlb closed first. */
  opened: number;
  closedByKvlb: number;
  replyBytes: number;
  kvlbTcp: Record<string, number>;
  failures: string[];
  seconds: number;
}

const STABLE_KEYS = 100;
const LONG_LINE = 200 * 1024;

interface Client {
  socket: Socket;
  closed: boolean;
  /** It never reads: kvlb must stop reading it once its replies pile up, and buffer no more. */
  deaf: boolean;
}

/** Whether `check` holds within `ms`; a check that throws has not held yet. */
async function holdsWithin(what: string, check: () => Promise<boolean>, ms: number): Promise<boolean> {
  return until(what, () => check().catch(() => false), ms).then(
    () => true,
    () => false,
  );
}

export async function fuzzStreams(o: StreamFuzzOptions): Promise<StreamFuzzReport> {
  const say = o.progress ?? ((): void => undefined);
  const started = Date.now();
  const dir = mkdtempSync(join(tmpdir(), "kvlb-stream-fuzz-"));
  const config = join(dir, "kvlb.yaml");
  writeFileSync(config, o.tcpBackends ? "tcp:\n  backends: true\n" : "tcp:\n  enabled: true\n");
  const cluster: Cluster = await startCluster(
    o.basePort,
    3,
    ["--timeout", "200", "--config", config],
    256,
    undefined,
    o.tcpBackends ? "tcp" : "udp",
  );
  const failures: string[] = [];
  const byFamily: StreamFuzzReport["byFamily"] = { ascii: 0, meta: 0, binary: 0, frame: 0, junk: 0 };
  const clients: Client[] = [];
  let opened = 0;
  let closedByKvlb = 0;
  let replyBytes = 0;
  let bytesWritten = 0;
  const alive = (): boolean => cluster.kvlb.exitCode === null && cluster.kvlb.signalCode === null;
  try {
    const stable = Array.from({ length: STABLE_KEYS }, (_, i): [string, string] => [
      `stable-${i}`,
      `value-${i}-${"s".repeat(i % 40)}`,
    ]);
    const setter = new Conn(cluster.kvlbPort);
    setter.send(stable.map(([k, v]) => `set ${k} 0 0 ${v.length}\r\n${v}\r\n`).join(""));
    await setter.until((s) => s.split("STORED\r\n").length - 1 === STABLE_KEYS, 10_000);
    setter.destroy();

    const open = (): Client => {
      const socket = connect(cluster.kvlbPort, "127.0.0.1");
      const c: Client = { socket, closed: false, deaf: false };
      opened++;
      socket.on("data", (d: Buffer) => (replyBytes += d.length));
      socket.on("error", () => undefined);
      socket.on("close", () => {
        if (!c.closed) closedByKvlb++;
        c.closed = true;
      });
      return c;
    };
    const rng = new Rng(o.seed);
    let lastReport = Date.now();
    let turns = 0;
    for (let written = 0; written < o.requests && alive(); turns++) {
      for (let i = clients.length - 1; i >= 0; i--) if (clients[i]?.closed) clients.splice(i, 1);
      while (clients.length < o.connections) clients.push(open());
      const c = rng.pick(clients);
      const n = 1 + rng.below(20);
      const parts: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const f = hostileRequests(rng);
        byFamily[f.family]++;
        parts.push(f.payload);
      }
      written += n;
      let bytes = Buffer.concat(parts);
      const roll = rng.below(100);
      if (roll < 2) bytes = Buffer.concat([bytes, Buffer.alloc(LONG_LINE, 0x61)]); // a line that never ends
      if (roll >= 2 && roll < 4) {
        c.deaf = true;
        c.socket.pause();
      }
      // in pieces, as TCP may deliver them
      let at = 0;
      while (at < bytes.length) {
        const piece = Math.min(bytes.length - at, 1 + rng.below(rng.chance(0.5) ? 64 : 16384));
        c.socket.write(bytes.subarray(at, at + piece));
        at += piece;
      }
      bytesWritten += bytes.length;
      if (roll >= 4 && roll < 8) {
        c.closed = true;
        c.socket.end(); // half-close: kvlb answers what came, then closes
      } else if (roll >= 8 && roll < 11) {
        c.closed = true;
        c.socket.resetAndDestroy(); // gone mid-stream
      } else if (c.deaf && c.socket.writableLength > 1 << 20) {
        c.closed = true;
        c.socket.destroy();
      }
      // let the sockets write and read, and keep the load steady rather than all buffered here
      if (turns % 8 === 0) await new Promise((r) => setTimeout(r, 1));
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        say(`  ${written.toLocaleString("en-US")} of ${o.requests.toLocaleString("en-US")} requests written`);
      }
    }
    for (const c of clients) {
      c.closed = true;
      c.socket.destroy();
    }
    if (!alive()) {
      failures.push(`kvlb exited during the fuzz: ${cluster.output().slice(-2000)}`);
    } else {
      const rss = residentBytes(cluster.kvlb.pid ?? 0) / 2 ** 20;
      if (rss > 1500) failures.push(`kvlb holds ${rss.toFixed(0)} MB after the fuzz`);
      const drained = await holdsWithin(
        "kvlb holds no connection",
        async () => ((await cluster.stats()) as unknown as { tcp: { open: number } }).tcp.open === 0,
        15_000,
      );
      if (!drained) failures.push("kvlb still holds connections 15 s after every fuzz client closed");
      if (!(await answersVersion(cluster.kvlbPort, 2000))) failures.push("kvlb does not answer version over UDP");
      if (!(await answersVersionTcp(cluster.kvlbPort, 2000))) failures.push("kvlb does not answer version over TCP");
      const direct = await Promise.all(
        cluster.backendPorts.map((p) => (o.tcpBackends ? answersVersionTcp(p, 2000) : answersVersion(p, 2000))),
      );
      direct.forEach((ok, i) => ok || failures.push(`backend ${cluster.backendPorts[i]} no longer answers directly`));
      const reader = new Conn(cluster.kvlbPort);
      try {
        reader.send(stable.map(([k]) => `get ${k}\r\n`).join(""));
        const want = stable.map(([k, v]) => `VALUE ${k} 0 ${v.length}\r\n${v}\r\nEND\r\n`).join("");
        const got = await reader
          .until((s) => s.length >= want.length, 10_000)
          .catch((e: Error) => {
            const have = reader.received;
            return `${e.message}; ${have.length} of ${want.length} bytes; missing: ${stable
              .filter(([k]) => !have.includes(`VALUE ${k} `))
              .map(([k]) => k)
              .join(" ")}; first 300: ${JSON.stringify(have.slice(0, 300))}`;
          });
        if (got !== want) failures.push(`the stable keys read back as ${JSON.stringify(got.slice(0, 160))}`);
      } finally {
        reader.destroy();
      }
    }
    const kvlbTcp = alive() ? ((await cluster.stats()) as unknown as { tcp: Record<string, number> }).tcp : {};
    return {
      requests: o.requests,
      bytesWritten,
      byFamily,
      opened,
      closedByKvlb,
      replyBytes,
      kvlbTcp,
      failures,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const c of clients) c.socket.destroy();
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
