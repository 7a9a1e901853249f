// memcached's own tests against kvlb. The t/*.t files of memcached 1.6.18 that apply to a proxy
// are in test/memcached-t (with memcached's licence; its README says which were left out and
// why). memcached's harness runs a file against a server already up when T_MEMD_USE_DAEMON names
// it, so each file talks to kvlb, in front of memcached servers over TCP, as it would to
// memcached itself: once with one server behind kvlb, once with three. Before each file, the
// servers and kvlb's caches are emptied, as a fresh memcached would be.
import test from "ava";
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startCluster, type Cluster } from "../support/cluster.js";
import { Conn } from "../support/tcp-conn.js";
import { portBase } from "../support/ports.js";

const suite = join(process.cwd(), "test/memcached-t");
const files = readdirSync(join(suite, "t")).filter((f) => f.endsWith(".t"));
interface Arm {
  servers: number;
  cluster?: Cluster;
}
const arms: Arm[] = [{ servers: 1 }, { servers: 3 }];
let dir: string;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), "kvlb-memcached-t-"));
  const config = join(dir, "kvlb.yaml");
  writeFileSync(config, "tcp:\n  backends: true\n");
  for (const [i, arm] of arms.entries())
    arm.cluster = await startCluster(
      portBase("memcached-t") + i * 200,
      arm.servers,
      ["--config", config],
      64,
      undefined,
      "tcp",
    );
});
test.after.always(async () => {
  await Promise.all(arms.map((a) => a.cluster?.stop()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function emptyEverything(cluster: Cluster): Promise<void> {
  for (const port of cluster.backendPorts) {
    const c = new Conn(port);
    try {
      c.send("flush_all\r\n");
      await c.until((s) => s === "OK\r\n");
    } finally {
      c.destroy();
    }
  }
  const r = await fetch(`http://127.0.0.1:${cluster.adminPort}/flush`, { method: "POST" });
  if (!r.ok) throw new Error(`POST /flush: ${r.status}`);
}

interface Tap {
  planned: number;
  passed: number;
  failed: string[];
}

function readTap(output: string): Tap {
  const planned = Number(/^1\.\.(\d+)/m.exec(output)?.[1] ?? -1);
  const passed = (output.match(/^ok \d+/gm) ?? []).length;
  const failed = output.split("\n").filter((l) => l.startsWith("not ok") || l.startsWith("#   "));
  return { planned, passed, failed };
}

for (const arm of arms) {
  for (const file of files) {
    const behind = arm.servers === 1 ? "one server" : `${arm.servers} servers`;
    test.serial(
      `memcached's own t/${file}, run against kvlb with ${behind} behind it, passes every check`,
      async (t) => {
        const cluster = arm.cluster;
        if (!cluster) throw new Error("no cluster");
        await emptyEverything(cluster);
        const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
          const child = execFile(
            "perl",
            [join("t", file)],
            {
              cwd: suite,
              env: { ...process.env, T_MEMD_USE_DAEMON: `127.0.0.1:${cluster.kvlbPort}` },
              timeout: 60_000,
              maxBuffer: 16 << 20,
            },
            (e, stdout, stderr) => resolve({ code: e ? (child.exitCode ?? -1) : 0, output: stdout + stderr }),
          );
        });
        const tap = readTap(output);
        t.deepEqual(tap.failed, [], "no check failed");
        t.true(tap.planned > 0, `a plan was printed:\n${output.slice(-2000)}`);
        t.is(tap.passed, tap.planned, "every planned check ran and passed");
        t.is(code, 0, output.slice(-2000));
      },
    );
  }
}
