// AF_XDP: sockets that share one UMEM living in a caller-given buffer, with burst-sized ring
// operations that read and write descriptors in that same buffer.
import { native } from "./native.js";
import { wrap } from "./errors.js";

/** struct xdp_desc as the kernel has it: u64 addr, u32 len, u32 options. */
export const XDP_DESC_BYTES = 16;
/** A frame pool: u32 count, u32 capacity, then `capacity` u32 frame base offsets. */
export const POOL_HEADER_BYTES = 8;

export interface UmemLayout {
  /** Byte offset of the UMEM in the buffer. Its address must be page-aligned. */
  umemOffset: number;
  umemBytes: number;
  /** A power of two: 2048 or 4096. */
  frameSize: number;
  /** Byte offset of the frame pool in the buffer. The caller fills it with free frames. */
  poolOffset: number;
  /** Frames each socket keeps in its fill ring; also the fill ring's size. */
  fillSize?: number;
  compSize?: number;
}

export type XskBind = "copy" | "zerocopy" | "auto";

export interface XskOptions {
  rxSize?: number;
  txSize?: number;
  /** copy is what veth and generic XDP give; zerocopy needs driver support. Default auto. */
  bind?: XskBind;
}

export interface XskSocketInfo {
  index: number;
  /** Put this in the XSKMAP of your XDP program, at the queue's index. */
  fd: number;
}

export interface XskStats {
  rxDropped: number;
  rxInvalid: number;
  txInvalid: number;
  rxRingFull: number;
  fillRingEmpty: number;
  txRingEmpty: number;
  /** Frames that found the tx ring full; they went back to the pool. */
  txNoRoom: number;
}

interface NativeXskSet {
  add(ifname: string, queue: number, opts: { rxSize?: number; txSize?: number; bindFlags: number }): XskSocketInfo;
  receive(descOffset: number, max: number): number;
  transmit(descOffset: number, n: number): number;
  wait(timeoutMs: number, extraFds?: number[]): number;
  stats(index: number): XskStats;
  close(): void;
}

const XDP_COPY = 1 << 1;
const XDP_ZEROCOPY = 1 << 2;
const XDP_USE_NEED_WAKEUP = 1 << 3;
const bindFlags: Record<XskBind, number> = {
  copy: XDP_COPY | XDP_USE_NEED_WAKEUP,
  zerocopy: XDP_ZEROCOPY | XDP_USE_NEED_WAKEUP,
  auto: XDP_USE_NEED_WAKEUP,
};

/**
 * AF_XDP sockets over one shared UMEM. The UMEM is part of `memory` (for example a view of a
 * WebAssembly.Memory), so frames arrive in and leave from that memory without a copy.
 * The socket program is never loaded by this class: attach your own XDP program and put each
 * socket's fd into its XSKMAP.
 */
export class XskSet {
  private readonly raw: NativeXskSet;
  private readonly sockets: XskSocketInfo[] = [];

  constructor(memory: Uint8Array, layout: UmemLayout) {
    const Ctor = (native() as unknown as { XskSet: new (m: Uint8Array, l: UmemLayout) => NativeXskSet }).XskSet;
    this.raw = wrap("AF_XDP umem", () => new Ctor(memory, layout));
  }

  /** Binds a socket to a device queue. Frames from the pool are put in its fill ring. */
  add(ifname: string, queue: number, opts: XskOptions = {}): XskSocketInfo {
    const info = wrap(`AF_XDP socket on ${ifname} queue ${queue}`, () =>
      this.raw.add(ifname, queue, {
        rxSize: opts.rxSize,
        txSize: opts.txSize,
        bindFlags: bindFlags[opts.bind ?? "auto"],
      }),
    );
    this.sockets.push(info);
    return info;
  }

  get size(): number {
    return this.sockets.length;
  }

  /**
   * One burst in: completed tx frames go back to the pool, the pool tops up the fill rings,
   * and up to `max` rx descriptors are written at `descOffset` (options = socket index).
   */
  receive(descOffset: number, max: number): number {
    return this.raw.receive(descOffset, max);
  }

  /** One burst out: `n` descriptors at `descOffset`, each sent on socket `options`. */
  transmit(descOffset: number, n: number): number {
    return this.raw.transmit(descOffset, n);
  }

  /**
   * poll() on every socket, and on up to 8 other fds of the caller's, for at most timeoutMs;
   * > 0 when one of them has something to read.
   */
  wait(timeoutMs: number, extraFds: number[] = []): number {
    return this.raw.wait(timeoutMs, extraFds);
  }

  stats(index: number): XskStats {
    return wrap("AF_XDP stats", () => this.raw.stats(index));
  }

  close(): void {
    this.raw.close();
  }
}
