// MD5 (RFC 1321), only for ketama: libmemcached hashes both the ring's point strings and the
// keys with it, and routing must agree with libmemcached bit for bit. `out` gets the 16-byte
// digest; the padded tail is built in the 64-byte scratch block at `block`.

// The per-round shift amounts and sine constants, indexed by step (0..63).
@inline function shift(i: u32): u32 {
  const r = i >> 4;
  const j = i & 3;
  if (r == 0) return j == 0 ? 7 : j == 1 ? 12 : j == 2 ? 17 : 22;
  if (r == 1) return j == 0 ? 5 : j == 1 ? 9 : j == 2 ? 14 : 20;
  if (r == 2) return j == 0 ? 4 : j == 1 ? 11 : j == 2 ? 16 : 23;
  return j == 0 ? 6 : j == 1 ? 10 : j == 2 ? 15 : 21;
}

@inline function sine(i: u32): u32 {
  return <u32>(<u64>Math.floor(Math.abs(Math.sin(<f64>(i + 1))) * 4294967296.0));
}

function compress(state: usize, m: usize, table: usize): void {
  const a0 = load<u32>(state);
  const b0 = load<u32>(state, 4);
  const c0 = load<u32>(state, 8);
  const d0 = load<u32>(state, 12);
  let a = a0;
  let b = b0;
  let c = c0;
  let d = d0;
  for (let i: u32 = 0; i < 64; i++) {
    let f: u32;
    let g: u32;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const t = d;
    d = c;
    c = b;
    b = b + rotl<u32>(a + f + load<u32>(table + ((<usize>i) << 2)) + load<u32>(m + ((<usize>g) << 2)), shift(i));
    a = t;
  }
  store<u32>(state, a0 + a);
  store<u32>(state, b0 + b, 4);
  store<u32>(state, c0 + c, 8);
  store<u32>(state, d0 + d, 12);
}

// The scratch area: a 64-byte block, then the 256 bytes of constants that md5Init writes once.
export const MD5_SCRATCH: usize = 320;

export function md5Init(scratch: usize): void {
  for (let i: u32 = 0; i < 64; i++) store<u32>(scratch + 64 + ((<usize>i) << 2), sine(i));
}

export function md5(ptr: usize, len: usize, out: usize, scratch: usize): void {
  const block = scratch;
  const table = scratch + 64;
  store<u32>(out, 0x67452301);
  store<u32>(out, 0xefcdab89, 4);
  store<u32>(out, 0x98badcfe, 8);
  store<u32>(out, 0x10325476, 12);
  let p = ptr;
  const end = ptr + len;
  while (p + 64 <= end) {
    compress(out, p, table);
    p += 64;
  }
  const rest = end - p;
  memory.fill(block, 0, 64);
  memory.copy(block, p, rest);
  store<u8>(block + rest, 0x80);
  if (rest >= 56) {
    compress(out, block, table);
    memory.fill(block, 0, 64);
  }
  store<u64>(block + 56, (<u64>len) << 3);
  compress(out, block, table);
}
