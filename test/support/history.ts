// A history checker for single-key reads and writes: every read must return a value that was
// current at some moment during that read. Times are from one clock; a write whose outcome is
// unknown (no acknowledgement) has end = Infinity, so it may take effect at any later moment.
export interface Write {
  key: string;
  value: string;
  start: number;
  end: number;
}

export interface Read {
  key: string;
  /** The value returned, or undefined for a miss. */
  value: string | undefined;
  start: number;
  end: number;
}

export interface Violation {
  read: Read;
  why: string;
}

export function checkHistory(writes: readonly Write[], reads: readonly Read[]): Violation[] {
  const byValue = new Map<string, Write>();
  const byKey = new Map<string, Write[]>();
  for (const w of writes) {
    if (byValue.has(`${w.key}\0${w.value}`)) throw new Error(`value ${w.value} written twice: values must be unique`);
    byValue.set(`${w.key}\0${w.value}`, w);
    byKey.set(w.key, [...(byKey.get(w.key) ?? []), w]);
  }
  const violations: Violation[] = [];
  for (const r of reads) {
    if (r.value === undefined) {
      violations.push({ read: r, why: "a miss, but the key was written before the run" });
      continue;
    }
    const w = byValue.get(`${r.key}\0${r.value}`);
    if (!w) {
      violations.push({ read: r, why: "a value nobody wrote" });
      continue;
    }
    if (w.start > r.end) {
      violations.push({
        read: r,
        why: `a value whose write began ${(w.start - r.end).toFixed(3)} ms after the read ended`,
      });
      continue;
    }
    // Stale: another write began after w was acknowledged and was itself acknowledged before
    // the read began, so at no moment of the read was w's value current.
    const newer = (byKey.get(r.key) ?? []).find((o) => o !== w && o.start > w.end && o.end < r.start);
    if (newer) violations.push({ read: r, why: `stale: ${newer.value} was acknowledged before the read began` });
  }
  return violations;
}
