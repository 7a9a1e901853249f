// Key bytes: validity and ordering.
import { MAX_KEY } from "../shared/abi";

@inline export function keyLengthOk(len: usize): bool {
  return len - 1 < <usize>MAX_KEY; // 1..250, with 0 wrapping to a huge value
}

// memcached refuses keys with spaces or control characters.
export function keyBytesOk(ptr: usize, len: usize): bool {
  if (!keyLengthOk(len)) return false;
  for (let i: usize = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

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
