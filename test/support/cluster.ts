// Real memcached servers (UDP only unless the test says otherwise, on loopback) and a real kvlb
// process in front of them, started by a test and always stopped by it.
import { spawn, type ChildProcess } from "node:child_process";
import { startMemcached, stopProcesses, type Transport } from "../../host/testbed/memcached.js";

export interface Cluster {
  kvlbPort: number;
  adminPort: number;
  backendPorts: number[];
  memcached: ChildProcess[];
  kvlb: ChildProcess;
  stats(): Promise<Record<string, unknown> & { backends: { requests: number; timeouts: number }[] }>;
  /** What kvlb wrote so far (its log, stderr included). */
  output(): string;
  stop(): Promise<void>;
}

async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function startCluster(
  base: number,
  backends = 3,
  extra: string[] = [],
  memoryMb = 64,
  adminToken?: string,
  transport: Transport = "udp",
  /** false: the backends come from the --config file in `extra` alone (a reload may change them). */
  backendFlags = true,
  /** Set in kvlb's environment, beside this process's own. */
  env: Record<string, string> = {},
): Promise<Cluster> {
  const backendPorts = Array.from({ length: backends }, (_, i) => base + i);
  const servers = await startMemcached(backendPorts, memoryMb, undefined, transport);
  const memcached = servers.processes;
  const kvlbPort = base + 50;
  const adminPort = base + 51;
  const kvlb = spawn(
    process.execPath,
    [
      "bin/kvlb.js",
      "run",
      "--listen",
      `127.0.0.1:${kvlbPort}`,
      ...(backendFlags ? backendPorts.flatMap((p) => ["--backend", `127.0.0.1:${p}`]) : []),
      "--admin",
      `127.0.0.1:${adminPort}`,
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...env } },
  );
  let stderr = "";
  kvlb.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  kvlb.stdout?.on("data", (d: Buffer) => (stderr += d.toString()));
  const stats = async (): Promise<Cluster["stats"] extends () => Promise<infer T> ? T : never> => {
    const headers: Record<string, string> = adminToken ? { authorization: `Bearer ${adminToken}` } : {};
    // ?fresh: the workers' next report, which counts everything sent before this call
    const r = await fetch(`http://127.0.0.1:${adminPort}/stats?fresh`, { headers });
    if (!r.ok) throw new Error(`/stats: ${r.status}`);
    return (await r.json()) as never;
  };
  const stop = async (): Promise<void> => {
    await stopProcesses([kvlb]);
    await servers.stop();
  };
  try {
    await until(async () => (await stats()) !== undefined, `kvlb (stderr: ${stderr})`);
  } catch (e) {
    await stop();
    throw e;
  }
  return { kvlbPort, adminPort, backendPorts, memcached, kvlb, stats, stop, output: () => stderr };
}
