// The core's tunables, with the defaults of the reference design (docs/detector.md).
export interface CoreConfig {
  /** Support s: a key is hot when its estimate is at least (s - ε)·N. */
  support: number;
  /** Error ε of lossy counting; the bucket width is ceil(1/ε). */
  epsilon: number;
  /** Share of N from which a key counts as warm and may enter L2. */
  warm: number;
  /** Decay period in weight units: every `window`, counts and N halve. 0 turns decay off. */
  window: number;
  /** Detector entries; 0 derives the lossy-counting bound from ε and the window. */
  detectCapacity: number;
  l1Entries: number;
  l1Bytes: number;
  l2Entries: number;
  /** Bytes per L2 entry for its key and reply; larger replies skip L2. */
  l2SlotBytes: number;
  burstMax: number;
  /** Each observation carries its weight (bytes or cost) in the descriptor. */
  weighted: boolean;
  seed: number;
  /** Datagram slots for the socket data path (half for clients, half for backends). */
  rxSlots: number;
  /** Bytes per datagram slot; a larger datagram is dropped and counted. */
  slotBytes: number;
  /** Datagrams the core may queue per burst. */
  outMax: number;
  /** Bytes for the datagrams the core builds in one burst. */
  txBytes: number;
  /** Requests in flight to backends (request ids): a power of two up to 65536. */
  natEntries: number;
  /** A request no backend answered within this many milliseconds is counted as a timeout. */
  natTimeoutMs: number;
  /** Write-barrier buckets: a power of two. */
  barrierBuckets: number;
  /** AF_XDP frames in the core's UMEM; 0 leaves the frame layer out. */
  frames: number;
  /** Bytes per AF_XDP frame: 2048 or 4096. */
  frameBytes: number;
  /** Room for write events to and from the other workers; 0 when this core is the only one. */
  peerEvents: number;
  /** A down backend's keys go to the next server up on the ring (true) or get SERVER_ERROR. */
  failover: boolean;
  /** Sources whose reply budgets are tracked at once: a power of two. */
  clientSlots: number;
  /** Reply bytes a source earns per request byte it sends; 0 turns the budget off. */
  replyRatio: number;
  /** Reply bytes a source earns per second, and banks at most. */
  replyBytesPerSecond: number;
}

export const defaultCoreConfig: Readonly<CoreConfig> = Object.freeze({
  support: 0.2,
  epsilon: 0.02,
  warm: 0.01,
  window: 1 << 20,
  detectCapacity: 0,
  l1Entries: 1024,
  l1Bytes: 4 << 20,
  l2Entries: 4096,
  l2SlotBytes: 1024,
  burstMax: 256,
  weighted: false,
  seed: 0x9e3779b9,
  rxSlots: 128,
  slotBytes: 65536,
  outMax: 2048,
  txBytes: 2 << 20,
  natEntries: 8192,
  natTimeoutMs: 1000,
  barrierBuckets: 16384,
  frames: 0,
  frameBytes: 2048,
  peerEvents: 0,
  failover: true,
  clientSlots: 4096,
  replyRatio: 100,
  replyBytesPerSecond: 65536,
});

export function withDefaults(partial: Partial<CoreConfig> = {}): CoreConfig {
  return { ...defaultCoreConfig, ...partial };
}

// Range checks the core also makes, here with a sentence an operator can act on.
export function describeConfigError(c: CoreConfig): string | undefined {
  if (!(c.epsilon > 0 && c.epsilon < 1)) return `epsilon ${c.epsilon}: must be between 0 and 1`;
  if (!(c.support > c.epsilon && c.support <= 1)) {
    return `support ${c.support}: must be above epsilon (${c.epsilon}) and at most 1`;
  }
  if (!(c.warm >= 0 && c.warm <= 1)) return `warm ${c.warm}: must be between 0 and 1`;
  if (!Number.isInteger(c.burstMax) || c.burstMax < 1 || c.burstMax > 65536) {
    return `burstMax ${c.burstMax}: must be an integer from 1 to 65536`;
  }
  if (c.l2Entries > 0 && c.l2SlotBytes < 258) {
    return `l2SlotBytes ${c.l2SlotBytes}: must hold a 250-byte key plus a reply (at least 258)`;
  }
  for (const k of ["window", "detectCapacity", "l1Entries", "l1Bytes", "l2Entries", "l2SlotBytes"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) return `${k} ${c[k]}: must be a whole number`;
  }
  const pow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(c.natEntries) || c.natEntries < 16 || c.natEntries > 65536) {
    return `natEntries ${c.natEntries}: must be a power of two from 16 to 65536`;
  }
  if (!pow2(c.barrierBuckets)) return `barrierBuckets ${c.barrierBuckets}: must be a power of two`;
  if (!pow2(c.clientSlots) || c.clientSlots > 1 << 20) {
    return `clients.budgetSlots ${c.clientSlots}: must be a power of two up to 1048576`;
  }
  if (c.rxSlots > c.burstMax) return `rxSlots ${c.rxSlots}: must not exceed burstMax (${c.burstMax})`;
  if (c.rxSlots > 0 && !(c.slotBytes >= 64 && c.slotBytes <= 65536)) {
    return `slotBytes ${c.slotBytes}: must be from 64 to 65536`;
  }
  if (!(c.natTimeoutMs >= 1)) return `natTimeoutMs ${c.natTimeoutMs}: must be at least 1`;
  if (!(c.outMax >= 1 && c.outMax <= 65536)) return `outMax ${c.outMax}: must be from 1 to 65536`;
  if (!(c.txBytes >= 4096)) return `txBytes ${c.txBytes}: must be at least 4096`;
  if (!Number.isInteger(c.frames) || c.frames < 0 || c.frames > 1 << 20) {
    return `frames ${c.frames}: must be a whole number up to ${1 << 20}`;
  }
  if (c.frameBytes !== 2048 && c.frameBytes !== 4096) return `frameBytes ${c.frameBytes}: must be 2048 or 4096`;
  if (!Number.isInteger(c.peerEvents) || c.peerEvents < 0 || c.peerEvents > 1 << 20) {
    return `peerEvents ${c.peerEvents}: must be a whole number up to ${1 << 20}`;
  }
  return undefined;
}
