// A typed view of one instantiated core: bursts for the data path, and the control plane's
// and the tests' operations on the detector, the caches and snapshots.
import * as abi from "../../assembly/shared/abi.js";
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

  private put(bytes: Uint8Array, at: number): [number, number] {
    if (bytes.length > this.scratchSize - (at - this.scratch)) {
      throw new CoreError(abi.E_TOO_LARGE, `value of ${bytes.length} bytes`);
    }
    this.u8.set(bytes, at);
    return [at, bytes.length];
  }

  private key(key: Key): [number, number] {
    const k = keyBytes(key);
    if (k.length > abi.MAX_KEY + 6) return [this.scratch, k.length]; // refused by the core as E_KEY
    return this.put(k, this.scratch);
  }

  private value(reply: Uint8Array): [number, number] {
    return this.put(reply, this.scratch + 256);
  }

  private check(r: number, what: string): number {
    if (r < 0) throw new CoreError(r, what);
    return r;
  }

  hash(key: Key): bigint {
    return u64(this.exports.hash(...this.key(key)));
  }

  // ---- detector ----
  get detectorCount(): number {
    return this.exports.detect_count();
  }
  get detectorCapacity(): number {
    return this.exports.detect_capacity();
  }
  get total(): bigint {
    return u64(this.exports.detect_total());
  }
  get bucketWidth(): bigint {
    return u64(this.exports.detect_width());
  }
  get bucket(): bigint {
    return u64(this.exports.detect_bucket());
  }
  estimate(key: Key): bigint {
    return u64(this.exports.detect_estimate(this.hash(key)));
  }
  /** Δ of a tracked key, or undefined when the detector does not track it. */
  delta(key: Key): bigint | undefined {
    const d = u64(this.exports.detect_delta(this.hash(key)));
    return d === 0xffffffffffffffffn ? undefined : d;
  }
  /** The keys reported hot (f >= (s - ε)N), or with `all` every tracked entry. */
  report(all = false): DetectorEntry[] {
    const n = this.check(this.exports.detect_report(all ? 1 : 0), "detector report");
    const io = this.region(abi.R_IO).offset;
    const view = new DataView(this.memory.buffer, io, n * 24);
    const out: DetectorEntry[] = [];
    for (let i = 0; i < n; i++) {
      out.push({
        hash: view.getBigUint64(i * 24, true),
        estimate: view.getBigUint64(i * 24 + 8, true),
        delta: view.getBigUint64(i * 24 + 16, true),
      });
    }
    return out;
  }

  // ---- L1 ----
  l1Put(key: Key, reply: Uint8Array): number {
    const [k, kl] = this.key(key);
    const [v, vl] = this.value(reply);
    return this.check(this.exports.l1_put(k, kl, v, vl), "l1 put");
  }
  l1Get(key: Key): CachedValue | undefined {
    const i = this.exports.l1_find(...this.key(key));
    if (i === abi.E_NOT_FOUND) return undefined;
    this.check(i, "l1 lookup");
    const at = this.exports.l1_reply(i);
    return {
      reply: this.u8.slice(at, at + this.exports.l1_reply_len(i)),
      state: this.exports.l1_state(i),
      version: u64(this.exports.l1_version(i)),
    };
  }
  l1Remove(key: Key): boolean {
    const r = this.exports.l1_remove(...this.key(key));
    return r !== abi.E_NOT_FOUND && this.check(r, "l1 remove") === 0;
  }
  get l1Count(): number {
    return this.exports.l1_count();
  }
  get l1Bytes(): number {
    return this.exports.l1_bytes();
  }
  /** L1's keys, oldest (next to be evicted) first. */
  l1Keys(): string[] {
    const keys: string[] = [];
    for (let i = this.exports.l1_oldest(); i >= 0; i = this.exports.l1_next(i)) {
      const at = this.exports.l1_key(i);
      keys.push(Buffer.from(this.u8.subarray(at, at + this.exports.l1_key_len(i))).toString("latin1"));
    }
    return keys;
  }

  // ---- L2 ----
  l2Put(key: Key, freq: bigint, reply: Uint8Array): number {
    const [k, kl] = this.key(key);
    const [v, vl] = this.value(reply);
    return this.check(this.exports.l2_put(k, kl, freq, v, vl), "l2 put");
  }
  l2Get(key: Key): (CachedValue & { freq: bigint }) | undefined {
    const i = this.exports.l2_find(...this.key(key));
    if (i === abi.E_NOT_FOUND) return undefined;
    this.check(i, "l2 lookup");
    const at = this.exports.l2_reply(i);
    return {
      reply: this.u8.slice(at, at + this.exports.l2_reply_len(i)),
      state: this.exports.l2_state(i),
      version: u64(this.exports.l2_version(i)),
      freq: u64(this.exports.l2_freq(i)),
    };
  }
  l2Remove(key: Key): boolean {
    const r = this.exports.l2_remove(...this.key(key));
    return r !== abi.E_NOT_FOUND && this.check(r, "l2 remove") === 0;
  }
  l2SetFreq(key: Key, freq: bigint): boolean {
    const r = this.exports.l2_set_freq(...this.key(key), freq);
    return r !== abi.E_NOT_FOUND && this.check(r, "l2 frequency") === 0;
  }
  /** Evicts the lowest (frequency, key) entry and returns its key. */
  l2EvictMin(): string | undefined {
    const min = this.exports.l2_min();
    if (min < 0) return undefined;
    const key = this.l2KeyAt(min);
    this.check(this.exports.l2_evict_min(), "l2 evict");
    return key;
  }
  private l2KeyAt(i: number): string {
    const at = this.exports.l2_key(i);
    return Buffer.from(this.u8.subarray(at, at + this.exports.l2_key_len(i))).toString("latin1");
  }
  /** L2's entries in ascending (frequency, key) order. */
  l2Entries(): { key: string; freq: bigint }[] {
    const out: { key: string; freq: bigint }[] = [];
    for (let i = this.exports.l2_min(); i >= 0; i = this.exports.l2_next(i)) {
      out.push({ key: this.l2KeyAt(i), freq: u64(this.exports.l2_freq(i)) });
    }
    return out;
  }
  get l2Count(): number {
    return this.exports.l2_count();
  }

  // ---- both layers ----
  promote(key: Key): number {
    return this.check(this.exports.promote(...this.key(key)), "promote");
  }
  demote(key: Key, freq: bigint): number {
    return this.check(this.exports.demote(...this.key(key), freq), "demote");
  }
  beginWrite(key: Key): bigint {
    const v = u64(this.exports.begin_write(...this.key(key)));
    if (v === 0n) throw new CoreError(abi.E_KEY, "begin write");
    return v;
  }
  completeWrite(key: Key, version: bigint, reply?: Uint8Array): boolean {
    const [k, kl] = this.key(key);
    const [v, vl] = this.value(reply ?? new Uint8Array(0));
    return this.check(this.exports.complete_write(k, kl, version, v, vl), "complete write") === 1;
  }
  offer(key: Key, version: bigint, reply: Uint8Array): number {
    const [k, kl] = this.key(key);
    const [v, vl] = this.value(reply);
    return this.check(this.exports.offer(k, kl, version, v, vl), "offer");
  }
  readVersion(key: Key): bigint {
    return u64(this.exports.read_version(...this.key(key)));
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
  stats(): Record<string, bigint> {
    const view = new BigUint64Array(this.memory.buffer, abi.STATS_BASE, abi.STATS_USED);
    const out: Record<string, bigint> = {};
    for (const [name, index] of statNames) {
      if (index < abi.STATS_USED) out[name] = view[index] ?? 0n;
    }
    return out;
  }
}
