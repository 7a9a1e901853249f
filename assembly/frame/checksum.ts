// The Internet checksum (RFC 1071), summed over little-endian words: the ones' complement sum
// does not depend on byte order, so the folded result is stored back little-endian as is.

// Adds len bytes at p to a running sum.
export function sumBytes(p: usize, len: usize, sum: u64): u64 {
  let s = sum;
  const end = p + len;
  let q = p;
  while (q + 8 <= end) {
    const w = load<u64>(q);
    s += (w & 0xffffffff) + (w >> 32);
    q += 8;
  }
  if (q + 4 <= end) {
    s += <u64>load<u32>(q);
    q += 4;
  }
  if (q + 2 <= end) {
    s += <u64>load<u16>(q);
    q += 2;
  }
  if (q < end) s += <u64>load<u8>(q);
  return s;
}

// Folds a sum to 16 bits and complements it: the value to store (little-endian) in the field.
export function finish(sum: u64): u16 {
  let s = sum;
  while (s >> 16 != 0) s = (s & 0xffff) + (s >> 16);
  return <u16>~(<u32>s);
}

@inline export function bswap16(v: u32): u32 {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}
