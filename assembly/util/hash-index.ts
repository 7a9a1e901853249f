// An open-addressing index from a 64-bit key hash to a u32 entry number, with linear probing
// and backward-shift deletion (no tombstones, so probe lengths stay short under churn).
// A table is `mask + 1` slots of 16 bytes: hash u64, entry u32, unused u32.

export const NONE: u32 = 0xffffffff;
const SLOT: usize = 16;

@inline function slotAt(table: usize, i: u32): usize {
  return table + <usize>i * SLOT;
}

// Slots for `entries` entries at a load factor of at most one half, rounded up to a power of two.
export function indexSlotsFor(entries: u32): u32 {
  let n: u32 = 8;
  while (n < entries * 2) n <<= 1;
  return n;
}

export function indexBytes(slots: u32): usize {
  return <usize>slots * SLOT;
}

export function indexClear(table: usize, mask: u32): void {
  for (let i: u32 = 0; i <= mask; i++) {
    const s = slotAt(table, i);
    store<u64>(s, 0);
    store<u32>(s, NONE, 8);
  }
}

export function indexFind(table: usize, mask: u32, h: u64): u32 {
  let i = (<u32>h) & mask;
  while (true) {
    const s = slotAt(table, i);
    const e = load<u32>(s, 8);
    if (e == NONE) return NONE;
    if (load<u64>(s) == h) return e;
    i = (i + 1) & mask;
  }
  return NONE;
}

// The caller guarantees that h is absent and that a free slot exists.
export function indexInsert(table: usize, mask: u32, h: u64, entry: u32): void {
  let i = (<u32>h) & mask;
  while (load<u32>(slotAt(table, i), 8) != NONE) i = (i + 1) & mask;
  const s = slotAt(table, i);
  store<u64>(s, h);
  store<u32>(s, entry, 8);
}

// Points an existing hash at another entry number (after the entry moved).
export function indexUpdate(table: usize, mask: u32, h: u64, entry: u32): void {
  let i = (<u32>h) & mask;
  while (true) {
    const s = slotAt(table, i);
    if (load<u32>(s, 8) == NONE) return;
    if (load<u64>(s) == h) {
      store<u32>(s, entry, 8);
      return;
    }
    i = (i + 1) & mask;
  }
}

export function indexRemove(table: usize, mask: u32, h: u64): void {
  let i = (<u32>h) & mask;
  while (true) {
    const s = slotAt(table, i);
    if (load<u32>(s, 8) == NONE) return;
    if (load<u64>(s) == h) break;
    i = (i + 1) & mask;
  }
  // Shift later members of the probe run back into the hole when their home allows it.
  let hole = i;
  let j = (i + 1) & mask;
  while (true) {
    const s = slotAt(table, j);
    const e = load<u32>(s, 8);
    if (e == NONE) break;
    const sh = load<u64>(s);
    const home = (<u32>sh) & mask;
    // The entry at j may move to the hole if its home is not cyclically within (hole, j].
    const dHome = (j - home) & mask;
    const dHole = (j - hole) & mask;
    if (dHome >= dHole) {
      const d = slotAt(table, hole);
      store<u64>(d, sh);
      store<u32>(d, e, 8);
      hole = j;
    }
    j = (j + 1) & mask;
  }
  const d = slotAt(table, hole);
  store<u64>(d, 0);
  store<u32>(d, NONE, 8);
}

// Number of occupied slots; check_state compares it with the owner's entry count.
export function indexCount(table: usize, mask: u32): u32 {
  let n: u32 = 0;
  for (let i: u32 = 0; i <= mask; i++) if (load<u32>(slotAt(table, i), 8) != NONE) n++;
  return n;
}
