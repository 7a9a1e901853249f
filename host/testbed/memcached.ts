// Real memcached servers for the demo, the benchmarks and the tests: UDP only, on loopback,
// each checked to answer before it is handed out, and always stoppable.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createSocket } from "node:dgram";
import { ConfigError } from "../errors.js";

export interface MemcachedSet {
  ports: number[];
  processes: ChildProcess[];
  stop(): Promise<void>;
}

/** One UDP `version` round trip; true if memcached answered within `ms`. */
export function answersVersion(port: number, ms = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on("message", (d) => done(d.toString("latin1", 8).startsWith("VERSION")));
    s.on("error", () => done(false));
    s.send(Buffer.concat([Buffer.from([0, 1, 0, 0, 0, 1, 0, 0]), Buffer.from("version\r\n")]), port, "127.0.0.1");
  });
}

export async function stopProcesses(processes: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    processes.map(async (p) => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      p.kill("SIGTERM");
      await Promise.race([once(p, "exit"), new Promise((r) => setTimeout(r, 3000))]);
      if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
    }),
  );
}

/**
 * Starts one memcached per UDP port. `hashpower` sizes the hash table up front (2^n buckets):
 * a server that must grow it rehashes in a thread of its own for a while, which a CPU cap turns
 * into seconds of extra load.
 */
export async function startMemcached(
  ports: readonly number[],
  memoryMb = 64,
  hashpower?: number,
  /** Also listen for TCP on the same port (clients that bypass kvlb, and proxies that speak TCP). */
  tcp = false,
): Promise<MemcachedSet> {
  const processes: ChildProcess[] = [];
  const stop = (): Promise<void> => stopProcesses(processes);
  try {
    for (const port of ports) {
      if (await answersVersion(port, 100)) throw new ConfigError(`127.0.0.1:${port}: something already answers there`);
      const p = spawn(
        "memcached",
        [
          ...["-U", String(port), "-p", tcp ? String(port) : "0", "-l", "127.0.0.1", "-u", "root"],
          ...["-m", String(memoryMb), "-t", "1"],
          ...(hashpower === undefined ? [] : ["-o", `hashpower=${hashpower}`]),
        ],
        { stdio: ["ignore", "ignore", "pipe"] },
      );
      let stderr = "";
      p.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
      const spawned = new Promise<void>((resolve, reject) => {
        p.once("spawn", resolve);
        p.once("error", (e: NodeJS.ErrnoException) =>
          reject(
            new ConfigError(
              e.code === "ENOENT" ? "memcached is not installed (run: bash scripts/setup)" : `memcached: ${e.message}`,
            ),
          ),
        );
      });
      processes.push(p);
      await spawned;
      const deadline = Date.now() + 5000;
      while (!(await answersVersion(port))) {
        if (p.exitCode !== null)
          throw new ConfigError(`memcached on UDP ${port} exited: ${stderr.trim() || "no reason given"}`);
        if (Date.now() > deadline) throw new ConfigError(`memcached on UDP ${port} did not answer within 5 s`);
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { ports: [...ports], processes, stop };
}
