// memcached's own counters, asked over UDP straight from each server (not through kvlb): what
// a benchmark takes as the backends' load, independent of what kvlb reports about itself.
import { createSocket } from "node:dgram";

/** Requests a memcached server has served: its gets and sets (cmd_get + cmd_set). */
export function servedRequests(port: number, timeoutMs = 2000): Promise<number> {
  return statsOf(port, timeoutMs).then((stat) => stat("cmd_get") + stat("cmd_set"));
}

/** Items a memcached server holds (curr_items). */
export function storedItems(port: number, timeoutMs = 2000): Promise<number> {
  return statsOf(port, timeoutMs).then((stat) => stat("curr_items"));
}

/** A server's `stats`, as a lookup of its numeric fields. */
function statsOf(port: number, timeoutMs: number): Promise<(name: string) => number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    const parts = new Map<number, string>();
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`127.0.0.1:${port}: no answer to stats within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on("message", (d) => {
      if (d.length < 8) return;
      parts.set(d.readUInt16BE(2), d.toString("latin1", 8));
      if (parts.size < d.readUInt16BE(4)) return;
      clearTimeout(timer);
      s.close();
      const text = [...parts]
        .sort((a, b) => a[0] - b[0])
        .map(([, t]) => t)
        .join("");
      const stat = (name: string): number => Number(new RegExp(`^STAT ${name} (\\d+)`, "m").exec(text)?.[1] ?? NaN);
      resolve(stat);
    });
    s.send(Buffer.concat([Buffer.from([0, 7, 0, 0, 0, 1, 0, 0]), Buffer.from("stats\r\n")]), port, "127.0.0.1");
  });
}

/** Each server's served requests, in the order of `ports`. */
export function servedByEach(ports: readonly number[]): Promise<number[]> {
  return Promise.all(ports.map((p) => servedRequests(p)));
}

/**
 * Resolves once the servers have stopped serving (what an overload left queued in their sockets
 * is done), or after `ms`: the next measurement then starts from idle servers.
 */
export async function settled(ports: readonly number[], ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  let before = await servedByEach(ports);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const now = await servedByEach(ports);
    if (now.every((v, i) => v === before[i])) return;
    before = now;
  }
}
