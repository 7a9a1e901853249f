// Key bytes: ordering and equality (what a key may be is protocol/keys.ts's).

// Lexicographic byte order, shorter first on a common prefix. Returns <0, 0 or >0.
export function compareKeys(a: usize, aLen: usize, b: usize, bLen: usize): i32 {
  const n = aLen < bLen ? aLen : bLen;
  const c = memory.compare(a, b, n);
  if (c != 0) return c;
  return <i32>aLen - <i32>bLen;
}

// Eight bytes at a time: this runs on every cache hit.
export function keysEqual(a: usize, aLen: usize, b: usize, bLen: usize): bool {
  if (aLen != bLen) return false;
  let i: usize = 0;
  while (i + 8 <= aLen) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < aLen) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}
