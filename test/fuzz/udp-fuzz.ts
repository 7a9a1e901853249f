// Hostile datagrams against kvlb run in front of real memcached servers, from several source
// addresses, at a steady rate. Before: stable keys are stored through kvlb. After: kvlb must be
// alive and serving, every backend must still answer a client that talks to it directly, every
// stable key must read back through kvlb and from its own backend, and kvlb must have counted
// every datagram that reached its socket (the kernel counts the ones its buffer had no room for).
import { createSocket, type Socket } from "node:dgram";
import { readFileSync } from "node:fs";
import { startCluster, type Cluster } from "../support/cluster.js";
import { UdpClient } from "../support/udp-client.js";
import { answersVersion } from "../../host/testbed/memcached.js";
import { Rng, hostileDatagram, type Fuzzed } from "./mutate.js";

export interface UdpFuzzOptions {
  count: number;
  seed: number;
  /** Datagrams per second offered to kvlb. */
  rate: number;
  basePort: number;
  progress?: (line: string) => void;
}

export interface UdpFuzzReport {
  sent: number;
  byFamily: Record<Fuzzed["family"], number>;
  repliesSeen: number;
  kvlbReceived: number;
  kernelDropped: number;
  kvlbCounters: Record<string, number>;
  /** Every failed check, in words; empty when kvlb came through. */
  failures: string[];
  seconds: number;
}

const STABLE_KEYS = 200;
const SOURCES = ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4"];

/** The kernel's drop count for the UDP socket bound to 127.0.0.1:port (/proc/net/udp). */
function socketDrops(port: number): number {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  for (const line of readFileSync("/proc/net/udp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f[1] === want) return Number(f[f.length - 1]);
  }
  return 0;
}

function bound(address: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, address, () => resolve(s));
  });
}

async function text(c: UdpClient, payload: string): Promise<string> {
  const m = await c.request(payload, /(END|STORED|SERVER_ERROR[^\r]*)\r\n$/, 2000);
  return Buffer.concat(m.map((x) => x.payload)).toString("latin1");
}

interface Counted {
  datagrams: { fromClients: number };
  drops: Record<string, number>;
  errors: Record<string, number>;
}

async function counters(cluster: Cluster): Promise<Counted> {
  return (await cluster.stats()) as unknown as Counted;
}

export async function fuzzUdp(o: UdpFuzzOptions): Promise<UdpFuzzReport> {
  const say = o.progress ?? ((): void => undefined);
  const started = Date.now();
  const cluster = await startCluster(o.basePort, 3, ["--timeout", "200"], 256);
  const sockets: Socket[] = [];
  const failures: string[] = [];
  const byFamily: UdpFuzzReport["byFamily"] = { ascii: 0, meta: 0, binary: 0, frame: 0, junk: 0 };
  let repliesSeen = 0;
  try {
    const client = new UdpClient(cluster.kvlbPort);
    const stable = Array.from({ length: STABLE_KEYS }, (_, i): [string, string] => [
      `stable-${i}`,
      `value-${i}-${"s".repeat(i % 40)}`,
    ]);
    for (const [k, v] of stable) {
      const r = await text(client, `set ${k} 0 0 ${v.length}\r\n${v}\r\n`);
      if (r !== "STORED\r\n") throw new Error(`storing ${k} before the fuzz: ${JSON.stringify(r)}`);
    }
    for (const a of SOURCES) {
      const s = await bound(a);
      s.on("message", () => repliesSeen++);
      sockets.push(s);
    }
    await new Promise((r) => setTimeout(r, 700)); // the worker reports twice a second
    const before = await counters(cluster);
    const dropsBefore = socketDrops(cluster.kvlbPort);
    const rng = new Rng(o.seed);
    const batch = 100;
    const batchMs = (1000 * batch) / o.rate;
    let next = Date.now();
    let lastReport = Date.now();
    for (let sent = 0; sent < o.count;) {
      const n = Math.min(batch, o.count - sent);
      for (let i = 0; i < n; i++) {
        const d = hostileDatagram(rng, sent + i);
        byFamily[d.family]++;
        const s = sockets[rng.below(sockets.length)] as Socket;
        s.send(d.payload, cluster.kvlbPort, "127.0.0.1");
      }
      sent += n;
      next += batchMs;
      const wait = next - Date.now();
      await new Promise((r) => (wait > 0 ? setTimeout(r, wait) : setImmediate(r)));
      if (Date.now() - lastReport >= 5000) {
        lastReport = Date.now();
        say(`  ${sent.toLocaleString("en-US")} of ${o.count.toLocaleString("en-US")} datagrams sent`);
      }
      if (cluster.kvlb.exitCode !== null || cluster.kvlb.signalCode !== null) {
        failures.push(
          `kvlb exited during the fuzz (${cluster.kvlb.exitCode ?? cluster.kvlb.signalCode}) after ${sent} datagrams: ${cluster.output().slice(-2000)}`,
        );
        break;
      }
    }
    // let kvlb drain its socket and report
    await new Promise((r) => setTimeout(r, 1500));
    if (cluster.kvlb.exitCode !== null || cluster.kvlb.signalCode !== null) {
      if (failures.length === 0) failures.push(`kvlb exited after the fuzz: ${cluster.output().slice(-2000)}`);
      const none = { sent: o.count, byFamily, repliesSeen, kvlbReceived: 0, kernelDropped: 0, kvlbCounters: {} };
      return { ...none, failures, seconds: (Date.now() - started) / 1000 };
    }
    const after = await counters(cluster);
    const kernelDropped = socketDrops(cluster.kvlbPort) - dropsBefore;
    const kvlbReceived = after.datagrams.fromClients - before.datagrams.fromClients;
    if (kvlbReceived + kernelDropped !== o.count) {
      failures.push(
        `kvlb counted ${kvlbReceived} datagrams and the kernel dropped ${kernelDropped} at its socket, but ${o.count} were sent`,
      );
    }
    if (!(await answersVersion(cluster.kvlbPort, 2000))) failures.push("kvlb does not answer version after the fuzz");
    const direct = await Promise.all(cluster.backendPorts.map((p) => answersVersion(p, 2000)));
    direct.forEach(
      (ok, i) => ok || failures.push(`backend ${cluster.backendPorts[i]} no longer answers a client directly`),
    );
    for (const [k, v] of stable) {
      const want = `VALUE ${k} 0 ${v.length}\r\n${v}\r\nEND\r\n`;
      const got = await text(client, `get ${k}\r\n`);
      if (got !== want) failures.push(`${k} read back through kvlb as ${JSON.stringify(got.slice(0, 80))}`);
    }
    client.close();
    const kvlbCounters: Record<string, number> = {};
    for (const group of ["drops", "errors"] as const) {
      for (const [name, v] of Object.entries(after[group])) {
        kvlbCounters[`${group}.${name}`] = v - (before[group][name] ?? 0);
      }
    }
    return {
      sent: o.count,
      byFamily,
      repliesSeen,
      kvlbReceived,
      kernelDropped,
      kvlbCounters,
      failures,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    for (const s of sockets) s.close();
    await cluster.stop();
  }
}
