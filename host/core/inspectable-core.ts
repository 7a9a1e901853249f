// A core with the accessors the control plane's reports, the tests and the benches use: the
// detector's entries, each cache layer's operations and contents, and the write protocol of
// both layers (the core's inspect.ts exports). The data path needs none of them, so they sit
// apart from Core; loadCore returns this class, and a worker sees it as a Core.
import * as abi from "../../assembly/abi/abi.js";
import { Core, u64, type Key, type DetectorEntry, type CachedValue } from "./core.js";
import { CoreError } from "../errors.js";

export class InspectableCore extends Core {
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
    const view = new DataView(this.memory.buffer, io, n * abi.TRACKED_BYTES);
    const out: DetectorEntry[] = [];
    for (let at = 0; at < n * abi.TRACKED_BYTES; at += abi.TRACKED_BYTES) {
      out.push({
        hash: view.getBigUint64(at + abi.TK_HASH, true),
        estimate: view.getBigUint64(at + abi.TK_F, true),
        delta: view.getBigUint64(at + abi.TK_DELTA, true),
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
  /** Until when (core clock, ns) a copy is served whose item memcached gave `ttl` s at `sentAt`; 0: not cached. */
  expiryAfter(sentAt: bigint, ttl: bigint): bigint {
    return u64(this.exports.expiry_after(sentAt, ttl));
  }
}
