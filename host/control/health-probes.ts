// How the health checker asks a backend for its `stats`: over UDP on a connected socket (a dead
// port answers at once with ICMP port unreachable), or over TCP on a connection kept open from
// one probe to the next (when kvlb reaches its backends over TCP, which may have no UDP at all).
import { createSocket, type Socket } from "node:dgram";
import { connect, type Socket as TcpSocket } from "node:net";

export interface ProbeEvents {
  /** The whole `stats` reply. */
  answered(text: string): void;
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

export type ProbeTransport = "udp" | "tcp";

export function createProbe(transport: ProbeTransport, host: string, port: number, events: ProbeEvents): Probe {
  return transport === "tcp" ? new TcpProbe(host, port, events) : new UdpProbe(host, port, events);
}

class UdpProbe implements Probe {
  private readonly socket: Socket = createSocket("udp4");
  private nextId = 1;
  /** The probe in flight: its request id and its datagrams so far. */
  private pending: { id: number; parts: Map<number, Buffer>; total: number } | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly events: ProbeEvents,
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
    private readonly events: ProbeEvents,
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
