// A burst's writes to TCP connections (clients' replies, requests to backends over TCP) go to the
// kernel in one io_uring submission; without io_uring (KVLB_IO_URING=0, or a kernel that refuses
// it) in a send(2) each. Both ways, 8 connections pipelining gets read back the values written,
// through real memcached servers that speak TCP only. The oracles: the values the test wrote, and
// the kernel's own switch for io_uring (/proc/sys/kernel/io_uring_disabled).
import test from "ava";
import { mkdtempSync, writeFileSync, rmSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { portBase } from "../support/ports.js";
import { Conn } from "../support/tcp-conn.js";

const base = portBase("tcp-write-batch");
const KEYS = Array.from({ length: 200 }, (_, i) => `batch-key-${i}`);
const value = (k: string): string => `${k}-value-${"v".repeat(k.length * 3)}`;

interface WriteStats {
  tcp: { writes: number; writeCalls: number };
}

/** Whether this kernel lets a process use io_uring (0: everyone may). */
function kernelAllowsIoUring(): boolean {
  const knob = "/proc/sys/kernel/io_uring_disabled";
  return !existsSync(knob) || readFileSync(knob, "utf8").trim() === "0";
}

/** Sets every key over one connection, then reads them all back over 8 connections at once. */
async function storeAndReadBack(cluster: Cluster): Promise<string[]> {
  const setter = new Conn(cluster.kvlbPort);
  try {
    setter.send(KEYS.map((k) => `set ${k} 0 0 ${value(k).length}\r\n${value(k)}\r\n`).join(""));
    await setter.until((s) => s.split("STORED\r\n").length - 1 === KEYS.length, 10_000);
  } finally {
    setter.destroy();
  }
  const readers = Array.from({ length: 8 }, () => new Conn(cluster.kvlbPort));
  try {
    readers.forEach((c, i) =>
      c.send(
        KEYS.slice(i * 25, i * 25 + 25)
          .map((k) => `get ${k}\r\n`)
          .join(""),
      ),
    );
    const got = await Promise.all(readers.map((c) => c.until((s) => s.split("END\r\n").length - 1 === 25, 10_000)));
    const wrong: string[] = [];
    got.forEach((body, i) => {
      const want = KEYS.slice(i * 25, i * 25 + 25)
        .map((k) => `VALUE ${k} 0 ${value(k).length}\r\n${value(k)}\r\nEND\r\n`)
        .join("");
      if (body !== want) wrong.push(`reader ${i}: ${JSON.stringify(body.slice(0, 120))}`);
    });
    return wrong;
  } finally {
    readers.forEach((c) => c.destroy());
  }
}

async function withCluster(env: Record<string, string>, body: (c: Cluster) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "kvlb-write-batch-"));
  const config = join(dir, "kvlb.yaml");
  writeFileSync(config, "tcp:\n  backends: true\n");
  const offset = env["KVLB_IO_URING"] === "0" ? 100 : 0;
  const cluster = await startCluster(base + offset, 3, ["--config", config], 64, undefined, "tcp", true, env);
  try {
    await body(cluster);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

test("with io_uring, the gets of 8 pipelining connections read back what was set, and a burst's TCP writes share system calls", async (t) => {
  await withCluster({}, async (cluster) => {
    t.deepEqual(await storeAndReadBack(cluster), []);
    const { tcp } = (await cluster.stats()) as unknown as WriteStats;
    t.true(tcp.writes >= (2 * KEYS.length) / 25, `writes ${tcp.writes}`);
    if (!kernelAllowsIoUring()) {
      t.log("this kernel refuses io_uring (io_uring_disabled): kvlb wrote with a send(2) each");
      t.is(tcp.writeCalls, tcp.writes);
      return;
    }
    t.true(tcp.writeCalls < tcp.writes, `${tcp.writes} writes took ${tcp.writeCalls} system calls`);
  });
});

test("with KVLB_IO_URING=0, the gets of 8 pipelining connections read back what was set, with a send(2) for each TCP write", async (t) => {
  await withCluster({ KVLB_IO_URING: "0" }, async (cluster) => {
    t.deepEqual(await storeAndReadBack(cluster), []);
    const { tcp } = (await cluster.stats()) as unknown as WriteStats;
    t.true(tcp.writes >= (2 * KEYS.length) / 25, `writes ${tcp.writes}`);
    t.is(tcp.writeCalls, tcp.writes);
  });
});
