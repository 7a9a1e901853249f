// A raw TCP client for tests: writes what the test says and collects what comes back, so a test
// can pipeline requests and wait (with a deadline) for the replies it expects.
import { connect, type Socket } from "node:net";

/** A TCP connection that collects what kvlb sends, until a pattern shows up. */
export class Conn {
  private readonly socket: Socket;
  private data = "";
  private closed = false;
  /** `from`: the local address to connect from (another loopback address, say). */
  constructor(port: number, host = "127.0.0.1", from?: string) {
    this.socket = connect({ port, host, ...(from ? { localAddress: from } : {}) });
    this.socket.on("data", (d: Buffer) => (this.data += d.toString("latin1")));
    this.socket.on("close", () => (this.closed = true));
    this.socket.on("error", () => (this.closed = true));
  }
  send(text: string | Buffer): void {
    this.socket.write(text);
  }
  end(): void {
    this.socket.end();
  }
  /** Waits until `done(received)` holds, or throws after `ms`. */
  async until(done: (received: string) => boolean, ms = 5000): Promise<string> {
    const end = Date.now() + ms;
    while (!done(this.data)) {
      if (Date.now() > end) throw new Error(`timed out; received ${JSON.stringify(this.data.slice(-200))}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    return this.data;
  }
  /** What kvlb sent so far. */
  get received(): string {
    return this.data;
  }
  get isClosed(): boolean {
    return this.closed;
  }
  destroy(): void {
    this.socket.destroy();
  }
  /** Stops reading: what kvlb sends piles up in the kernel's buffers, then in kvlb's. */
  pause(): void {
    this.socket.pause();
  }
  resume(): void {
    this.socket.resume();
  }
  /** Closes with a TCP reset, as a crashed client's kernel does. */
  reset(): void {
    this.socket.resetAndDestroy();
  }
}
