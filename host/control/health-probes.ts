// How the health checker asks a backend for its `stats`: over UDP on a connected socket (a dead
// port answers at once with ICMP port unreachable), over TCP on a connection kept open from one
// probe to the next (when kvlb reaches its backends over TCP, which may have no UDP at all), or
// through the worker's core, which sends it as a frame (DPDK ports no kernel serves: nothing but
// the core can reach the backends there).
import { createSocket, type Socket } from "node:dgram";
import { connect, type Socket as TcpSocket } from "node:net";
import type { Balancer } from "../balancer/balancer.js";

/** What a probe tells: memcached's pid, its uptime, and how many flush_all it took. */
export interface Probed {
  pid: number;
  uptime: number;
  cmdFlush: number;
}

export interface ProbeEvents {
  answered(probed: Probed): void;
  failed(why: string): void;
}

export interface Probe {
  start(): Promise<void>;
  /** Asks once; the answer or the failure comes through the events. */
  ask(): void;
  /** Forgets the question in flight (it took too long). */
  abandon(): void;
  stop(): void;
}

export type ProbeTransport = "udp" | "tcp" | "core";

/** The backend a probe asks: its index in the backend table, its address and port. */
export interface ProbeTarget {
  index: number;
  address: string;
  port: number;
}

export function createProbe(
  transport: ProbeTransport,
  target: ProbeTarget,
  events: ProbeEvents,
  balancer: Balancer,
): Probe {
  if (transport === "core") return new CoreProbe(balancer, target.index, events);
  const text = textEvents(events);
  return transport === "tcp"
    ? new TcpProbe(target.address, target.port, text)
    : new UdpProbe(target.address, target.port, text);
}

/** Reads memcached's `stats` reply (one message, possibly several datagrams joined). */
export function parseStats(text: string): Probed | undefined {
  const stat = (name: string): number | undefined => {
    const m = new RegExp(`^STAT ${name} (\\d+)\\r?$`, "m").exec(text);
    return m ? Number(m[1]) : undefined;
  };
  const pid = stat("pid");
  const uptime = stat("uptime");
  const cmdFlush = stat("cmd_flush");
  if (pid === undefined || uptime === undefined || cmdFlush === undefined || !/END\r\n$/.test(text)) return undefined;
  return { pid, uptime, cmdFlush };
}

interface TextEvents {
  answered(text: string): void;
  failed(why: string): void;
}

function textEvents(events: ProbeEvents): TextEvents {
  return {
    answered: (text) => {
      const probed = parseStats(text);
      if (probed) events.answered(probed);
      else events.failed("its stats answer could not be read");
    },
    failed: (why) => events.failed(why),
  };
}

/** The core reads the answer itself (assembly/proxy/probe.ts); a worker passes it on. */
class CoreProbe implements Probe {
  private asking = false;
  private listening = false;

  constructor(
    private readonly balancer: Balancer,
    private readonly index: number,
    private readonly events: ProbeEvents,
  ) {}

  start(): Promise<void> {
    if (!this.listening) {
      this.listening = true;
      this.balancer.onProbeAnswer((a) => {
        if (a.backend !== this.index || !this.asking) return;
        this.asking = false;
        this.events.answered({ pid: a.pid, uptime: a.uptime, cmdFlush: a.cmdFlush });
      });
    }
    return Promise.resolve();
  }

  ask(): void {
    this.asking = true;
    this.balancer.send({ type: "probe", backend: this.index });
  }

  abandon(): void {
    this.asking = false;
  }

  stop(): void {
    this.asking = false;
  }
}

class UdpProbe implements Probe {
  private readonly socket: Socket = createSocket("udp4");
  private nextId = 1;
  /** The probe in flight: its request id and its datagrams so far. */
  private pending: { id: number; parts: Map<number, Buffer>; total: number } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly events: TextEvents,
  ) {}

  start(): Promise<void> {
    return new Promise((resolve) => {
      this.socket.on("message", (d) => this.received(d));
      this.socket.on("error", () => this.events.failed("its port refused the probe"));
      this.socket.connect(this.port, this.host, () => resolve());
    });
  }

  ask(): void {
    const id = this.nextId;
    this.nextId = (this.nextId % 0xffff) + 1;
    this.pending = { id, parts: new Map(), total: 0 };
    const header = Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0]);
    this.socket.send([header, Buffer.from("stats\r\n")], (e) => {
      if (e) this.events.failed(`the probe could not be sent (${(e as NodeJS.ErrnoException).code ?? e.message})`);
    });
  }

  abandon(): void {
    this.pending = undefined;
  }

  stop(): void {
    this.socket.close();
  }

  private received(d: Buffer): void {
    const p = this.pending;
    if (!p || d.length < 8 || d.readUInt16BE(0) !== p.id) return;
    p.total = d.readUInt16BE(4);
    p.parts.set(d.readUInt16BE(2), d.subarray(8));
    if (p.parts.size < p.total) return;
    this.pending = undefined;
    const sorted = [...p.parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    this.events.answered(Buffer.concat(sorted).toString("latin1"));
  }
}

class TcpProbe implements Probe {
  private socket: TcpSocket | undefined;
  private text = "";
  private asking = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly events: TextEvents,
  ) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  ask(): void {
    this.text = "";
    this.asking = true;
    if (!this.socket) this.socket = this.open();
    this.socket.write("stats\r\n");
  }

  abandon(): void {
    // a late answer would be read as the next one's: start over on a new connection
    this.asking = false;
    this.socket?.destroy();
    this.socket = undefined;
  }

  stop(): void {
    this.asking = false;
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): TcpSocket {
    const s = connect(this.port, this.host);
    s.setNoDelay(true);
    s.on("data", (d: Buffer) => {
      if (!this.asking) return;
      this.text += d.toString("latin1");
      if (!/(END|ERROR)\r\n$/.test(this.text)) return;
      this.asking = false;
      this.events.answered(this.text);
    });
    const lost = (why: string): void => {
      if (this.socket !== s) return;
      this.socket = undefined;
      s.destroy();
      if (this.asking) {
        this.asking = false;
        this.events.failed(why);
      }
    };
    s.on("error", (e: NodeJS.ErrnoException) =>
      lost(e.code === "ECONNREFUSED" ? "its port refused the connection" : `the probe failed (${e.code ?? e.message})`),
    );
    s.on("close", () => lost("it closed the probe's connection"));
    return s;
  }
}
