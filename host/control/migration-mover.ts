// The background mover of a live migration (docs/balancer.md, Live migration). After a reload
// that moved keys, it lists the keys each server that lost some holds (memcached's
// `lru_crawler metadump all`, over TCP), keeps those whose ketama owner changed, and hands them to
// the workers at `migration.copiesPerSecond`; each worker's core asks the old owner for each one
// and copies it to the new owner in add mode. Once every key is handed over and the last copies
// have had a request timeout to land, the window closes. The window's own time bounds it all.
import { connect } from "node:net";
import type { Logger } from "pino";
import type { Balancer } from "../balancer/balancer.js";
import { loadCore } from "../core/loader.js";
import { setBackends, routeKey, type Backend } from "../core/backends.js";
import { endpointText } from "./backend-slots.js";
import type { MoverProgress } from "./reload-status.js";

/** A server's list is read up to this many bytes: 1 GiB of memcached holds about 5 million keys. */
const DUMP_BYTES_MAX = 512 * 1024 * 1024;
const TICK_MS = 100;

/** The keys memcached at host:port holds, from `lru_crawler metadump all`. */
export async function dumpKeys(host: string, port: number, timeoutMs = 30_000): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let bytes = 0;
    const done = (e?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (e) reject(e);
    };
    const timer = setTimeout(
      () => done(new Error(`${host}:${port}: no whole key list within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.on("error", (e) => done(new Error(`${host}:${port}: ${e.message}`)));
    socket.on("connect", () => socket.write("lru_crawler metadump all\r\n"));
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      bytes += d.length;
      if (bytes > DUMP_BYTES_MAX)
        return done(new Error(`${host}:${port}: the key list is over ${DUMP_BYTES_MAX} bytes`));
      const tail = Buffer.concat(chunks.slice(-2)).toString("latin1");
      if (!tail.endsWith("END\r\n") && !/^(ERROR|BUSY|CLIENT_ERROR|SERVER_ERROR)/m.test(tail)) return;
      const text = Buffer.concat(chunks).toString("latin1");
      const refused = /^(ERROR|BUSY|CLIENT_ERROR|SERVER_ERROR)[^\r]*/m.exec(text);
      if (refused) return done(new Error(`${host}:${port}: lru_crawler metadump: ${refused[0]}`));
      const keys: string[] = [];
      // memcached ends each key's line with \n alone, and the list with END\r\n
      for (const line of text.split(/\r?\n/)) {
        const m = /^key=(\S+)/.exec(line);
        if (!m?.[1]) continue;
        try {
          keys.push(decodeURIComponent(m[1]));
        } catch {
          // a key memcached encoded in a way URI decoding does not take: not ours to copy
        }
      }
      done();
      resolve(keys);
    });
  });
}

export interface MoverPlan {
  before: readonly Backend[];
  after: readonly Backend[];
  windowMs: number;
  copiesPerSecond: number;
  requestTimeoutMs: number;
}

export class MigrationMover {
  private run = 0;
  private now: MoverProgress = { state: "off", serversListed: 0, servers: 0, keysFound: 0, keysHanded: 0 };

  constructor(
    private readonly balancer: Balancer,
    private readonly log: Logger,
  ) {}

  /** Starts moving for a reload from `before` to `after`; a mover still running stops. */
  start(plan: MoverPlan): void {
    const run = ++this.run;
    const off = plan.copiesPerSecond <= 0;
    this.now = { state: off ? "off" : "listing", serversListed: 0, servers: 0, keysFound: 0, keysHanded: 0 };
    if (off) return;
    void this.move(run, plan).catch((e: unknown) => {
      if (run === this.run) this.now.state = "stopped";
      this.log.warn(
        { err: (e as Error).message },
        "migration: the mover stopped; moved keys are still read from their old servers until the window closes",
      );
    });
  }

  /** Stops a mover that is running (kvlb is stopping, or another reload came). */
  stop(): void {
    this.run++;
    if (this.now.state === "listing" || this.now.state === "copying") this.now.state = "stopped";
  }

  /** Where the last mover is: a copy, for /stats. */
  progress(): MoverProgress {
    return { ...this.now };
  }

  private async move(run: number, plan: MoverPlan): Promise<void> {
    const started = Date.now();
    const deadline = started + plan.windowMs;
    const [old, now] = await Promise.all([loadCore(), loadCore()]);
    setBackends(old, plan.before);
    setBackends(now, plan.after);
    const ownerText = (core: typeof old, list: readonly Backend[], key: string): string => {
      const b = list[routeKey(core, key)];
      return b ? endpointText(b) : "";
    };
    const moved: string[] = [];
    this.now.servers = plan.before.length;
    for (const b of plan.before) {
      if (run !== this.run) return;
      const keys = await dumpKeys(b.address, b.port);
      const at = endpointText(b);
      for (const k of keys)
        if (ownerText(old, plan.before, k) === at && ownerText(now, plan.after, k) !== at) moved.push(k);
      if (run !== this.run) return;
      this.now.serversListed++;
      this.now.keysFound = moved.length;
      this.log.info({ server: at, keys: keys.length, moving: moved.length }, "migration: listed a server's keys");
    }
    this.now.state = "copying";
    const perTick = Math.max(1, Math.round((plan.copiesPerSecond * TICK_MS) / 1000));
    for (let i = 0; i < moved.length; i += perTick) {
      if (run !== this.run || Date.now() >= deadline) {
        if (run === this.run) this.now.state = "stopped";
        this.log.info({ handed: i, left: moved.length - i }, "migration: the window closed before the mover was done");
        return;
      }
      this.balancer.send({ type: "move", keys: moved.slice(i, i + perTick) });
      this.now.keysHanded = Math.min(moved.length, i + perTick);
      await new Promise((r) => setTimeout(r, TICK_MS).unref());
    }
    // the last copies land within a request timeout
    await new Promise((r) => setTimeout(r, 2 * plan.requestTimeoutMs).unref());
    if (run !== this.run) return;
    this.balancer.send({ type: "migrate-end" });
    this.now.state = "done";
    this.log.info(
      { keys: moved.length, seconds: (Date.now() - started) / 1000 },
      "migration: done; every moved key was offered to its new server, and the window is closed",
    );
  }
}
