// A ring of variable-size blocks for the L1 table's keys and replies. Blocks are taken at the
// head and given back at the tail, so allocation and eviction are O(1) and the bytes in use
// never exceed the ring. A block: owner u32 (entry number, or DEAD), size u32, then payload.
// The control block is 5 u32: base, size, head, tail, used.
export const DEAD: u32 = 0xffffffff;
export const ARENA_CONTROL: usize = 20;
export const BLOCK_HEADER: usize = 8;

const BASE: usize = 0;
const SIZE: usize = 4;
const HEAD: usize = 8;
const TAIL: usize = 12;
const USED: usize = 16;

export function arenaInit(a: usize, base: usize, size: usize): void {
  store<u32>(a + BASE, <u32>base);
  store<u32>(a + SIZE, <u32>(size & ~(<usize>7)));
  store<u32>(a + HEAD, 0);
  store<u32>(a + TAIL, 0);
  store<u32>(a + USED, 0);
}

@inline export function arenaSize(a: usize): u32 {
  return load<u32>(a + SIZE);
}
@inline export function arenaUsed(a: usize): u32 {
  return load<u32>(a + USED);
}
@inline export function blockOwner(block: usize): u32 {
  return load<u32>(block);
}
@inline export function blockSize(block: usize): u32 {
  return load<u32>(block, 4);
}

function place(a: usize, at: u32, size: u32, owner: u32): usize {
  const block = <usize>load<u32>(a + BASE) + <usize>at;
  store<u32>(block, owner);
  store<u32>(block, size, 4);
  store<u32>(a + USED, load<u32>(a + USED) + size);
  return block;
}

// A block of `size` bytes (a multiple of 8, at most the ring's size) for `owner`, or 0 when
// the ring must give up its tail first.
export function arenaTryAlloc(a: usize, size: u32, owner: u32): usize {
  const cap = load<u32>(a + SIZE);
  const used = load<u32>(a + USED);
  if (used == 0) {
    store<u32>(a + HEAD, 0);
    store<u32>(a + TAIL, 0);
  }
  const head = load<u32>(a + HEAD);
  const tail = load<u32>(a + TAIL);
  if (head > tail || used == 0) {
    if (cap - head >= size) {
      store<u32>(a + HEAD, head + size);
      return place(a, head, size, owner);
    }
    if (tail < size) return 0;
    if (cap > head) place(a, head, cap - head, DEAD); // pad to the end, then wrap
    store<u32>(a + HEAD, size);
    return place(a, 0, size, owner);
  }
  if (head < tail && tail - head >= size) {
    store<u32>(a + HEAD, head + size);
    return place(a, head, size, owner);
  }
  return 0;
}

// The oldest block, or 0 when the ring is empty.
export function arenaTail(a: usize): usize {
  if (load<u32>(a + USED) == 0) return 0;
  return <usize>load<u32>(a + BASE) + <usize>load<u32>(a + TAIL);
}

export function arenaPopTail(a: usize): void {
  const block = arenaTail(a);
  if (block == 0) return;
  const size = blockSize(block);
  let tail = load<u32>(a + TAIL) + size;
  if (tail >= load<u32>(a + SIZE)) tail = 0;
  store<u32>(a + TAIL, tail);
  store<u32>(a + USED, load<u32>(a + USED) - size);
}

// Marks a block dead and gives back every dead block at the tail.
export function arenaFree(a: usize, block: usize): void {
  store<u32>(block, DEAD);
  while (true) {
    const t = arenaTail(a);
    if (t == 0 || blockOwner(t) != DEAD) break;
    arenaPopTail(a);
  }
}

// Walks the ring from tail to head; true when the blocks exactly cover `used` bytes.
export function arenaCheck(a: usize): bool {
  const cap = load<u32>(a + SIZE);
  const used = load<u32>(a + USED);
  if (used > cap) return false;
  let at = load<u32>(a + TAIL);
  let walked: u32 = 0;
  while (walked < used) {
    const size = blockSize(<usize>load<u32>(a + BASE) + <usize>at);
    if (size < 8 || (size & 7) != 0 || walked + size > used) return false;
    walked += size;
    at += size;
    if (at >= cap) at = 0;
  }
  return used == 0 || at == load<u32>(a + HEAD);
}

// The next block after `block` going towards the head, or 0 at the head.
export function arenaNext(a: usize, block: usize): usize {
  const base = <usize>load<u32>(a + BASE);
  let at = <u32>(block - base) + blockSize(block);
  if (at >= load<u32>(a + SIZE)) at = 0;
  if (at == load<u32>(a + HEAD)) return 0;
  return base + <usize>at;
}
