// A typed view of one instantiated core: bursts for the data path, and the control plane's
// and the tests' operations on the detector, the caches and snapshots.
import * as abi from "../../assembly/abi/abi.js";
import type { CoreConfig } from "./config.js";
import type { CoreExports } from "./exports.js";
import { CoreError } from "../errors.js";

export type Key = string | Uint8Array;

export interface DetectorEntry {
  hash: bigint;
  estimate: bigint;
  delta: bigint;
}

export interface CachedValue {
  reply: Uint8Array;
  state: number;
  version: bigint;
}

export interface BurstResult {
  flags: number;
  /** The reply served from L1 or L2 on a hit (a copy). */
  reply?: Uint8Array;
  error?: number;
}

const encoder = new TextEncoder();
// WebAssembly hands i64 to JavaScript as a signed BigInt; the core's u64s are unsigned.
export const u64 = (v: bigint): bigint => BigInt.asUintN(64, v);
const statNames = Object.entries(abi)
  .filter(([name]) => name.startsWith("S_") && name !== "S_")
  .map(([name, index]) => [name.slice(2).toLowerCase(), index] as const);

export function keyBytes(key: Key): Uint8Array {
  return typeof key === "string" ? encoder.encode(key) : key;
}

export class Core {
  readonly u8: Uint8Array;
  readonly u32: Uint32Array;
  readonly rx: number;
  readonly tx: number;
  /** Memory above the layout that the host may use for its own buffers. */
  readonly hostArea: { offset: number; size: number };
  private readonly scratch: number;
  private readonly scratchSize: number;

  constructor(
    readonly memory: WebAssembly.Memory,
    /** The running module's exports: a module swap replaces them between bursts. */
    public exports: CoreExports,
    readonly config: CoreConfig,
    layoutEnd: number,
    scratchSize: number,
    /** The running module, compiled: a rollback instantiates it again on this memory. */
    public module: WebAssembly.Module,
  ) {
    this.u8 = new Uint8Array(memory.buffer);
    this.u32 = new Uint32Array(memory.buffer);
    this.rx = this.region(abi.R_RX).offset;
    this.tx = this.region(abi.R_TX).offset;
    this.scratch = layoutEnd;
    this.scratchSize = scratchSize;
    const hostStart = layoutEnd + scratchSize;
    this.hostArea = { offset: hostStart, size: memory.buffer.byteLength - hostStart };
  }

  /** Bytes of memory the layout takes. */
  get layoutBytes(): number {
    return this.u32[(abi.HEADER_BASE + abi.H_TOTAL) >>> 2] ?? 0;
  }

  region(id: number): { offset: number; size: number } {
    const at = (abi.HEADER_BASE + abi.H_REGIONS + id * 8) >>> 2;
    return { offset: this.u32[at] ?? 0, size: this.u32[at + 1] ?? 0 };
  }

  /** Runs the burst of `n` descriptors already in the rx ring. One crossing into the core. */
  process(n: number): number {
    const r = this.exports.process(n);
    if (r < 0) throw new CoreError(r, `burst of ${n}`);
    return r;
  }

  /** Observes keys (copying them into scratch memory) in bursts; for tests and tools. */
  observe(keys: readonly Key[], weights?: readonly number[]): BurstResult[] {
    const out: BurstResult[] = [];
    const burst = this.config.burstMax;
    for (let start = 0; start < keys.length; start += burst) {
      const n = Math.min(burst, keys.length - start);
      let at = this.scratch;
      for (let i = 0; i < n; i++) {
        const k = keyBytes(keys[start + i] as Key);
        const len = Math.min(k.length, this.scratchSize - (at - this.scratch));
        this.u8.set(k.subarray(0, len), at);
        const d = (this.rx >>> 2) + i * 4;
        this.u32[d] = at;
        this.u32[d + 1] = k.length;
        this.u32[d + 2] = weights?.[start + i] ?? 1;
        this.u32[d + 3] = abi.DK_KEY;
        at += len;
      }
      this.process(n);
      for (let i = 0; i < n; i++) {
        const d = (this.tx >>> 2) + i * 4;
        const flags = this.u32[d + 3] ?? 0;
        const result: BurstResult = { flags };
        if (flags & abi.RF_ERROR) result.error = -((flags >>> 16) & 0xff);
        else if (flags & (abi.RF_L1_HIT | abi.RF_L2_HIT)) {
          const addr = this.u32[d + 2] ?? 0;
          result.reply = this.u8.slice(addr, addr + (this.u32[d + 1] ?? 0));
        }
        out.push(result);
      }
    }
    return out;
  }

  protected put(bytes: Uint8Array, at: number): [number, number] {
    if (bytes.length > this.scratchSize - (at - this.scratch)) {
      throw new CoreError(abi.E_TOO_LARGE, `value of ${bytes.length} bytes`);
    }
    this.u8.set(bytes, at);
    return [at, bytes.length];
  }

  protected key(key: Key): [number, number] {
    const k = keyBytes(key);
    if (k.length > abi.MAX_KEY + 6) return [this.scratch, k.length]; // refused by the core as E_KEY
    return this.put(k, this.scratch);
  }

  protected value(reply: Uint8Array): [number, number] {
    return this.put(reply, this.scratch + 256);
  }

  protected check(r: number, what: string): number {
    if (r < 0) throw new CoreError(r, what);
    return r;
  }

  hash(key: Key): bigint {
    return u64(this.exports.hash(...this.key(key)));
  }

  // ---- lifecycle ----
  tick(nowNs: bigint): number {
    return this.check(this.exports.tick(nowNs), "tick");
  }
  checkState(): number {
    return this.exports.check_state();
  }
  snapshot(): Uint8Array {
    const n = this.check(this.exports.snapshot(), "snapshot");
    const io = this.region(abi.R_IO).offset;
    return this.u8.slice(io, io + n);
  }
  restore(bytes: Uint8Array): void {
    const io = this.region(abi.R_IO);
    if (bytes.length > io.size) throw new CoreError(abi.E_SNAP_CAPACITY, `snapshot of ${bytes.length} bytes`);
    this.u8.set(bytes, io.offset);
    this.check(this.exports.restore(bytes.length), "restore");
  }
  /** The `max` warmest cached keys, warmest first: one call into the core, whatever the caches hold. */
  hotKeys(max: number): { key: string; estimate: number; layer: "L1" | "L2" }[] {
    const n = this.check(this.exports.hot_keys(max), "hot keys");
    const io = this.region(abi.R_IO).offset;
    const view = new DataView(this.memory.buffer, io, n * abi.HOT_KEY_BYTES);
    const out: { key: string; estimate: number; layer: "L1" | "L2" }[] = [];
    for (let at = 0; at < n * abi.HOT_KEY_BYTES; at += abi.HOT_KEY_BYTES) {
      const len = view.getUint32(at + abi.HK_KEY_LEN, true);
      const key = Buffer.from(this.memory.buffer, io + at + abi.HK_KEY, len).toString("latin1");
      const layer = view.getUint32(at + abi.HK_LAYER, true) === abi.LAYER_L1 ? "L1" : "L2";
      out.push({ key, estimate: Number(view.getBigUint64(at + abi.HK_ESTIMATE, true)), layer });
    }
    return out;
  }
  stats(): Record<string, bigint> {
    const view = new BigUint64Array(this.memory.buffer, abi.STATS_BASE, abi.STATS_USED);
    const out: Record<string, bigint> = {};
    for (const [name, index] of statNames) {
      if (index < abi.STATS_USED) out[name] = view[index] ?? 0n;
    }
    return out;
  }
}
