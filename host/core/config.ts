// The core's tunables, with the defaults of the reference design (DESIGN.md, "Algorithms").
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
  return undefined;
}
