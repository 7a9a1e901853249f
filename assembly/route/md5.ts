// MD5 (RFC 1321), only for ketama: libmemcached hashes both the ring's point strings and the
// keys with it, and routing must agree with libmemcached bit for bit. `out` gets the 16-byte
// digest; the padded tail is built in the 64-byte scratch block at `block`. Every request's key
// goes through it, so the 64 steps are written out with their constants: a loop that computes
// the shift and the message word per step, and reads the constants from memory, cost several
// times as much.

@inline function ff(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return b + rotl<u32>(a + ((b & c) | (~b & d)) + x + t, s);
}
@inline function gg(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return b + rotl<u32>(a + ((b & d) | (c & ~d)) + x + t, s);
}
@inline function hh(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return b + rotl<u32>(a + (b ^ c ^ d) + x + t, s);
}
@inline function ii(a: u32, b: u32, c: u32, d: u32, x: u32, s: u32, t: u32): u32 {
  return b + rotl<u32>(a + (c ^ (b | ~d)) + x + t, s);
}

function compress(state: usize, m: usize): void {
  const a0 = load<u32>(state);
  const b0 = load<u32>(state, 4);
  const c0 = load<u32>(state, 8);
  const d0 = load<u32>(state, 12);
  let a = a0;
  let b = b0;
  let c = c0;
  let d = d0;
  a = ff(a, b, c, d, load<u32>(m, 0), 7, 0xd76aa478);
  d = ff(d, a, b, c, load<u32>(m, 4), 12, 0xe8c7b756);
  c = ff(c, d, a, b, load<u32>(m, 8), 17, 0x242070db);
  b = ff(b, c, d, a, load<u32>(m, 12), 22, 0xc1bdceee);
  a = ff(a, b, c, d, load<u32>(m, 16), 7, 0xf57c0faf);
  d = ff(d, a, b, c, load<u32>(m, 20), 12, 0x4787c62a);
  c = ff(c, d, a, b, load<u32>(m, 24), 17, 0xa8304613);
  b = ff(b, c, d, a, load<u32>(m, 28), 22, 0xfd469501);
  a = ff(a, b, c, d, load<u32>(m, 32), 7, 0x698098d8);
  d = ff(d, a, b, c, load<u32>(m, 36), 12, 0x8b44f7af);
  c = ff(c, d, a, b, load<u32>(m, 40), 17, 0xffff5bb1);
  b = ff(b, c, d, a, load<u32>(m, 44), 22, 0x895cd7be);
  a = ff(a, b, c, d, load<u32>(m, 48), 7, 0x6b901122);
  d = ff(d, a, b, c, load<u32>(m, 52), 12, 0xfd987193);
  c = ff(c, d, a, b, load<u32>(m, 56), 17, 0xa679438e);
  b = ff(b, c, d, a, load<u32>(m, 60), 22, 0x49b40821);
  a = gg(a, b, c, d, load<u32>(m, 4), 5, 0xf61e2562);
  d = gg(d, a, b, c, load<u32>(m, 24), 9, 0xc040b340);
  c = gg(c, d, a, b, load<u32>(m, 44), 14, 0x265e5a51);
  b = gg(b, c, d, a, load<u32>(m, 0), 20, 0xe9b6c7aa);
  a = gg(a, b, c, d, load<u32>(m, 20), 5, 0xd62f105d);
  d = gg(d, a, b, c, load<u32>(m, 40), 9, 0x02441453);
  c = gg(c, d, a, b, load<u32>(m, 60), 14, 0xd8a1e681);
  b = gg(b, c, d, a, load<u32>(m, 16), 20, 0xe7d3fbc8);
  a = gg(a, b, c, d, load<u32>(m, 36), 5, 0x21e1cde6);
  d = gg(d, a, b, c, load<u32>(m, 56), 9, 0xc33707d6);
  c = gg(c, d, a, b, load<u32>(m, 12), 14, 0xf4d50d87);
  b = gg(b, c, d, a, load<u32>(m, 32), 20, 0x455a14ed);
  a = gg(a, b, c, d, load<u32>(m, 52), 5, 0xa9e3e905);
  d = gg(d, a, b, c, load<u32>(m, 8), 9, 0xfcefa3f8);
  c = gg(c, d, a, b, load<u32>(m, 28), 14, 0x676f02d9);
  b = gg(b, c, d, a, load<u32>(m, 48), 20, 0x8d2a4c8a);
  a = hh(a, b, c, d, load<u32>(m, 20), 4, 0xfffa3942);
  d = hh(d, a, b, c, load<u32>(m, 32), 11, 0x8771f681);
  c = hh(c, d, a, b, load<u32>(m, 44), 16, 0x6d9d6122);
  b = hh(b, c, d, a, load<u32>(m, 56), 23, 0xfde5380c);
  a = hh(a, b, c, d, load<u32>(m, 4), 4, 0xa4beea44);
  d = hh(d, a, b, c, load<u32>(m, 16), 11, 0x4bdecfa9);
  c = hh(c, d, a, b, load<u32>(m, 28), 16, 0xf6bb4b60);
  b = hh(b, c, d, a, load<u32>(m, 40), 23, 0xbebfbc70);
  a = hh(a, b, c, d, load<u32>(m, 52), 4, 0x289b7ec6);
  d = hh(d, a, b, c, load<u32>(m, 0), 11, 0xeaa127fa);
  c = hh(c, d, a, b, load<u32>(m, 12), 16, 0xd4ef3085);
  b = hh(b, c, d, a, load<u32>(m, 24), 23, 0x04881d05);
  a = hh(a, b, c, d, load<u32>(m, 36), 4, 0xd9d4d039);
  d = hh(d, a, b, c, load<u32>(m, 48), 11, 0xe6db99e5);
  c = hh(c, d, a, b, load<u32>(m, 60), 16, 0x1fa27cf8);
  b = hh(b, c, d, a, load<u32>(m, 8), 23, 0xc4ac5665);
  a = ii(a, b, c, d, load<u32>(m, 0), 6, 0xf4292244);
  d = ii(d, a, b, c, load<u32>(m, 28), 10, 0x432aff97);
  c = ii(c, d, a, b, load<u32>(m, 56), 15, 0xab9423a7);
  b = ii(b, c, d, a, load<u32>(m, 20), 21, 0xfc93a039);
  a = ii(a, b, c, d, load<u32>(m, 48), 6, 0x655b59c3);
  d = ii(d, a, b, c, load<u32>(m, 12), 10, 0x8f0ccc92);
  c = ii(c, d, a, b, load<u32>(m, 40), 15, 0xffeff47d);
  b = ii(b, c, d, a, load<u32>(m, 4), 21, 0x85845dd1);
  a = ii(a, b, c, d, load<u32>(m, 32), 6, 0x6fa87e4f);
  d = ii(d, a, b, c, load<u32>(m, 60), 10, 0xfe2ce6e0);
  c = ii(c, d, a, b, load<u32>(m, 24), 15, 0xa3014314);
  b = ii(b, c, d, a, load<u32>(m, 52), 21, 0x4e0811a1);
  a = ii(a, b, c, d, load<u32>(m, 16), 6, 0xf7537e82);
  d = ii(d, a, b, c, load<u32>(m, 44), 10, 0xbd3af235);
  c = ii(c, d, a, b, load<u32>(m, 8), 15, 0x2ad7d2bb);
  b = ii(b, c, d, a, load<u32>(m, 36), 21, 0xeb86d391);
  store<u32>(state, a0 + a);
  store<u32>(state, b0 + b, 4);
  store<u32>(state, c0 + c, 8);
  store<u32>(state, d0 + d, 12);
}

@inline function zero64(block: usize): void {
  for (let i: usize = 0; i < 64; i += 8) store<u64>(block + i, 0);
}

export function md5(ptr: usize, len: usize, out: usize, scratch: usize): void {
  const block = scratch;
  store<u32>(out, 0x67452301);
  store<u32>(out, 0xefcdab89, 4);
  store<u32>(out, 0x98badcfe, 8);
  store<u32>(out, 0x10325476, 12);
  let p = ptr;
  const end = ptr + len;
  while (p + 64 <= end) {
    compress(out, p);
    p += 64;
  }
  // the tail is under 64 bytes: byte stores beat a call out to memory.copy and memory.fill
  const rest = end - p;
  zero64(block);
  for (let i: usize = 0; i < rest; i++) store<u8>(block + i, load<u8>(p + i));
  store<u8>(block + rest, 0x80);
  if (rest >= 56) {
    compress(out, block);
    zero64(block);
  }
  store<u64>(block + 56, (<u64>len) << 3);
  compress(out, block);
}
