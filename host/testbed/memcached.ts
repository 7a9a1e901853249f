// Real memcached servers for the demo, the benchmarks and the tests: on loopback, UDP, TCP or
// both on one port, each checked to answer before it is handed out, and always stoppable.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createSocket } from "node:dgram";
import { connect } from "node:net";
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

/** One TCP `version` round trip; true if memcached answered within `ms`. */
export function answersVersionTcp(port: number, ms = 200): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on("data", (d: Buffer) => {
      text += d.toString("latin1");
      if (text.includes("\r\n")) done(text.startsWith("VERSION"));
    });
    s.on("error", () => done(false));
    s.write("version\r\n");
  });
}

/** Which of memcached's listeners a server opens on its port. */
export type Transport = "udp" | "tcp" | "both";

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
 * Starts one memcached per port. `hashpower` sizes the hash table up front (2^n buckets):
 * a server that must grow it rehashes in a thread of its own for a while, which a CPU cap turns
 * into seconds of extra load.
 */
export async function startMemcached(
  ports: readonly number[],
  memoryMb = 64,
  hashpower?: number,
  /** TCP too (clients that bypass kvlb, and proxies that speak TCP), or TCP alone (memcached's default). */
  transport: Transport = "udp",
): Promise<MemcachedSet> {
  const udp = transport !== "tcp";
  const answers = (port: number, ms?: number): Promise<boolean> =>
    udp ? answersVersion(port, ms) : answersVersionTcp(port, ms);
  const processes: ChildProcess[] = [];
  const stop = (): Promise<void> => stopProcesses(processes);
  try {
    for (const port of ports) {
      if (await answers(port, 100)) throw new ConfigError(`127.0.0.1:${port}: something already answers there`);
      const p = spawn(
        "memcached",
        [
          ...["-U", udp ? String(port) : "0", "-p", transport === "udp" ? "0" : String(port)],
          ...["-l", "127.0.0.1", "-u", "root"],
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
      const where = `${udp ? "UDP" : "TCP"} ${port}`;
      while (!(await answers(port))) {
        if (p.exitCode !== null)
          throw new ConfigError(`memcached on ${where} exited: ${stderr.trim() || "no reason given"}`);
        if (Date.now() > deadline) throw new ConfigError(`memcached on ${where} did not answer within 5 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  return { ports: [...ports], processes, stop };
}
