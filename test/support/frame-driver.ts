// Plays the AF_XDP driver's part for unit tests of the core's frame layer: frames are taken
// from the core's pool and written where the kernel would put them (after 256 bytes of
// headroom), the burst runs, and the frames the core queued are read back and completed.
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "../../host/core/core.js";

const XDP_HEADROOM = 256;

export interface SentFrame {
  port: number;
  bytes: Buffer;
}

export class FrameDriver {
  private readonly view: DataView;
  constructor(private readonly core: Core) {
    this.view = new DataView(core.memory.buffer);
  }

  get poolCount(): number {
    return this.view.getUint32(this.core.region(abi.R_FPOOL).offset, true);
  }

  private takeFrame(): number {
    const pool = this.core.region(abi.R_FPOOL).offset;
    const n = this.view.getUint32(pool, true);
    if (n === 0) throw new Error("pool empty");
    this.view.setUint32(pool, n - 1, true);
    return this.view.getUint32(pool + 8 + 4 * (n - 1), true);
  }

  private giveBack(offset: number): void {
    const pool = this.core.region(abi.R_FPOOL).offset;
    const n = this.view.getUint32(pool, true);
    this.view.setUint32(pool + 8 + 4 * n, offset & ~(this.core.config.frameBytes - 1), true);
    this.view.setUint32(pool, n + 1, true);
  }

  /** One burst: returns the frames sent, already completed back into the pool. */
  burst(frames: readonly Buffer[], port = 0): SentFrame[] {
    const umem = this.core.region(abi.R_UMEM).offset;
    frames.forEach((f, i) => {
      const addr = this.takeFrame() + XDP_HEADROOM;
      this.core.u8.set(f, umem + addr);
      const d = this.core.rx + 16 * i;
      this.view.setBigUint64(d, BigInt(addr), true);
      this.view.setUint32(d + 8, f.length, true);
      this.view.setUint32(d + 12, port, true);
    });
    const r = this.core.exports.process_frames(frames.length);
    if (r < 0) throw new Error(`process_frames: ${r}`);
    return this.collect();
  }

  /** Runs the last burst's n descriptors again, as a worker retries a burst that trapped. */
  rerun(n: number): SentFrame[] {
    const r = this.core.exports.process_frames(n);
    if (r < 0) throw new Error(`process_frames: ${r}`);
    return this.collect();
  }

  tick(now: bigint): SentFrame[] {
    this.core.tick(now);
    return this.collect();
  }

  /** Datagrams the core left for the kernel's sockets. */
  get socketCount(): number {
    return this.core.u32[(abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2] ?? 0;
  }

  /** The frames the last call into the core queued, completed back into the pool. */
  collect(): SentFrame[] {
    const umem = this.core.region(abi.R_UMEM).offset;
    const ftx = this.core.region(abi.R_FTX).offset;
    const n = this.core.u32[(abi.HEADER_BASE + abi.H_FTX_COUNT) >>> 2] ?? 0;
    const out: SentFrame[] = [];
    for (let i = 0; i < n; i++) {
      const d = ftx + 16 * i;
      const addr = Number(this.view.getBigUint64(d, true));
      const len = this.view.getUint32(d + 8, true);
      out.push({
        port: this.view.getUint32(d + 12, true),
        bytes: Buffer.from(this.core.u8.subarray(umem + addr, umem + addr + len)),
      });
      this.giveBack(addr);
    }
    return out;
  }
}
