// A plain memcached UDP client for tests: sends one request datagram and gathers the reply
// messages (joined by sequence number) until the expected end or a quiet period.
import { createSocket, type Socket } from "node:dgram";

export interface Message {
  id: number;
  payload: Buffer;
}

export class UdpClient {
  private readonly socket: Socket = createSocket("udp4");
  private nextId = 1;
  private inbox: Buffer[] = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly port: number,
    private readonly host = "127.0.0.1",
  ) {
    this.socket.on("message", (d) => {
      this.inbox.push(d);
      this.wake?.();
    });
  }

  /** Sends raw bytes as they are (frame header included). */
  sendRaw(bytes: Buffer): void {
    this.socket.send(bytes, this.port, this.host);
  }

  frame(payload: string | Buffer, id = this.nextId++ & 0xffff, total = 1, reserved = 0): Buffer {
    const header = Buffer.alloc(8);
    header.writeUInt16BE(id, 0);
    header.writeUInt16BE(0, 2);
    header.writeUInt16BE(total, 4);
    header.writeUInt16BE(reserved, 6);
    return Buffer.concat([header, Buffer.from(payload)]);
  }

  /** The reply messages to one request; stops at `until` in the last message, or after quietMs. */
  async request(
    payload: string | Buffer,
    until: RegExp | undefined = /(END|STORED|DELETED|NOT_FOUND|ERROR[^\r]*|EXISTS|NOT_STORED|TOUCHED|\d+|MN)\r\n$/,
    quietMs = 300,
  ): Promise<Message[]> {
    return this.exchange(this.frame(payload), until, quietMs);
  }

  /** As request, for a datagram framed by the caller. */
  async exchange(bytes: Buffer, until: RegExp | undefined, quietMs = 300): Promise<Message[]> {
    const id = bytes.readUInt16BE(0);
    this.inbox = [];
    this.sendRaw(bytes);
    const parts = new Map<number, Map<number, Buffer>>(); // message index -> seq -> payload
    const messages: Message[] = [];
    let current = new Map<number, Buffer>();
    const deadline = Date.now() + 3000;
    for (;;) {
      while (this.inbox.length > 0) {
        const d = this.inbox.shift() as Buffer;
        if (d.readUInt16BE(0) !== id) continue;
        const seq = d.readUInt16BE(2);
        const total = d.readUInt16BE(4);
        current.set(seq, d.subarray(8));
        if (current.size === total) {
          const joined = Buffer.concat([...current.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
          messages.push({ id, payload: joined });
          parts.set(parts.size, current);
          current = new Map();
        }
      }
      const last = messages[messages.length - 1];
      if (until && last && until.test(last.payload.toString("latin1")) && current.size === 0) return messages;
      const wait = Math.min(quietMs, deadline - Date.now());
      if (wait <= 0) return messages;
      const got = await new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), wait);
        this.wake = () => {
          clearTimeout(t);
          resolve(true);
        };
      });
      this.wake = undefined;
      if (!got) return messages;
    }
  }

  /** Every datagram's payload that arrives within `ms`, sending nothing: for what must not come. */
  async collect(ms: number): Promise<string[]> {
    this.inbox = [];
    await new Promise((r) => setTimeout(r, ms));
    const got = this.inbox.map((d) => d.subarray(8).toString("latin1"));
    this.inbox = [];
    return got;
  }

  /**
   * Single-datagram replies as they arrive, for `ms` or until `done()`: each goes to `seen` with
   * its request id. Resolves to when each id was first answered (Date.now()).
   */
  async collectFrames(
    ms: number,
    seen: (id: number, payload: string) => void,
    done: () => boolean,
  ): Promise<Map<number, number>> {
    this.inbox = [];
    const at = new Map<number, number>();
    const deadline = Date.now() + ms;
    while (Date.now() < deadline && !done()) {
      for (const d of this.inbox.splice(0)) {
        const id = d.readUInt16BE(0);
        if (!at.has(id)) at.set(id, Date.now());
        seen(id, d.subarray(8).toString("latin1"));
      }
      if (done()) break;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 20);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return at;
  }

  /** The concatenated payload of all reply messages. */
  async text(payload: string | Buffer): Promise<string> {
    const m = await this.request(payload);
    return Buffer.concat(m.map((x) => x.payload)).toString("latin1");
  }

  close(): void {
    this.socket.close();
  }
}
