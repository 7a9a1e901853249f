// A closed-loop TCP load for memcached's ASCII protocol: a number of connections to each target,
// each keeping `depth` requests in flight (pipelined), gets and sets of Zipf-chosen keys. Latency
// is from a request's write to the end of its reply, in an HDR histogram.
import { connect, type Socket } from "node:net";
import { build, type Histogram } from "hdr-histogram-js";
import { zipfSampler, rng } from "./zipf.js";

export interface TcpTarget {
  address: string;
  port: number;
}

export interface TcpLoadSpec {
  /** The targets; a key goes to route(key), an index into them. */
  targets: readonly TcpTarget[];
  route: (key: string) => number;
  connections: number;
  depth: number;
  seconds: number;
  keys: readonly string[];
  zipf: number;
  /** The share of requests that are sets. */
  sets: number;
  valueBytes: number;
  seed: number;
}

export interface TcpLoadResult {
  completed: number;
  opsPerSecond: number;
  p50Us: number;
  p99Us: number;
  /** Replies that were errors, and connections that broke. */
  errors: number;
}

interface Pending {
  set: boolean;
  at: bigint;
}

const END = "END\r\n";

/** Runs the load; resolves once every request sent has its reply (or its connection broke). */
export async function tcpLoad(spec: TcpLoadSpec): Promise<TcpLoadResult> {
  const rank = zipfSampler(spec.keys.length, spec.zipf, spec.seed);
  const coin = rng(spec.seed + 1);
  const value = "x".repeat(spec.valueBytes);
  const latency: Histogram = build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3,
  });
  let completed = 0;
  let errors = 0;
  const deadline = Date.now() + spec.seconds * 1000;
  // one stream of requests per target, so that each key goes to its own target's connections
  const next = (): { target: number; text: string; set: boolean } => {
    const key = spec.keys[rank()] ?? "";
    const set = coin() < spec.sets;
    return {
      target: spec.route(key),
      text: set ? `set ${key} 0 0 ${value.length}\r\n${value}\r\n` : `get ${key}\r\n`,
      set,
    };
  };
  const backlog: { text: string; set: boolean }[][] = spec.targets.map(() => []);
  const take = (target: number): { text: string; set: boolean } => {
    for (;;) {
      const own = backlog[target]?.shift();
      if (own) return own;
      const r = next();
      if (r.target === target) return r;
      backlog[r.target]?.push(r);
    }
  };

  const runConnection = (target: number): Promise<void> =>
    new Promise((resolve) => {
      const t = spec.targets[target] as TcpTarget;
      const socket: Socket = connect({ host: t.address, port: t.port, noDelay: true });
      const queue: Pending[] = [];
      let buf = "";
      const send = (n: number): void => {
        if (Date.now() >= deadline) return;
        let out = "";
        const now = process.hrtime.bigint();
        for (let i = 0; i < n; i++) {
          const r = take(target);
          out += r.text;
          queue.push({ set: r.set, at: now });
        }
        socket.write(out, "latin1");
      };
      socket.setEncoding("latin1");
      socket.on("connect", () => send(spec.depth));
      socket.on("data", (d: string) => {
        buf += d;
        let done = 0;
        let at = 0;
        for (;;) {
          const head = queue[0];
          if (!head) break;
          let end: number;
          if (head.set || buf.startsWith("SERVER_ERROR", at) || buf.startsWith("CLIENT_ERROR", at)) {
            const nl = buf.indexOf("\r\n", at);
            if (nl < 0) break;
            end = nl + 2;
            if (!buf.startsWith("STORED", at)) errors++;
          } else {
            const e = buf.indexOf(END, at);
            if (e < 0) break;
            end = e + END.length;
          }
          queue.shift();
          latency.recordValue(Math.max(1, Number((process.hrtime.bigint() - head.at) / 1000n)));
          completed++;
          done++;
          at = end;
        }
        buf = buf.slice(at);
        if (done > 0) send(done);
        if (queue.length === 0 && Date.now() >= deadline) socket.end();
      });
      socket.on("error", () => {
        errors++;
        resolve();
      });
      socket.on("close", () => resolve());
    });

  const started = Date.now();
  const runs: Promise<void>[] = [];
  for (let target = 0; target < spec.targets.length; target++)
    for (let c = 0; c < spec.connections; c++) runs.push(runConnection(target));
  await Promise.all(runs);
  const seconds = (Date.now() - started) / 1000;
  return {
    completed,
    opsPerSecond: completed / seconds,
    p50Us: latency.getValueAtPercentile(50),
    p99Us: latency.getValueAtPercentile(99),
    errors,
  };
}
