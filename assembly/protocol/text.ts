// Reading memcached's text protocol in place: lines, space-separated tokens, decimals, keys.
// Nothing is copied or allocated; positions are absolute addresses.

export const NOT_FOUND: usize = 0;

// The longest text line memcached reads over TCP, its "\r\n" included, unless the line is a get
// or gets: with more of a line in its buffer and no newline yet, it closes the connection
// (proto_text.c, try_read_command_ascii). Over a backend connection kvlb shares among its
// clients, that would lose every request on it, so no longer line is sent to a backend.
export const TEXT_LINE_MAX: usize = 2048;

// The address of the '\n' that ends the line starting at p, or NOT_FOUND.
export function findNewline(p: usize, end: usize): usize {
  while (p < end) {
    if (load<u8>(p) == 0x0a) return p;
    p++;
  }
  return NOT_FOUND;
}

// The end of a line's content: before "\r\n" or a bare "\n".
@inline export function contentEnd(start: usize, newline: usize): usize {
  return newline > start && load<u8>(newline - 1) == 0x0d ? newline - 1 : newline;
}

@inline export function skipSpaces(p: usize, end: usize): usize {
  while (p < end && load<u8>(p) == 0x20) p++;
  return p;
}

@inline export function tokenEnd(p: usize, end: usize): usize {
  while (p < end && load<u8>(p) != 0x20) p++;
  return p;
}

// Whether n bytes from p stay within [p, end): compared in 64 bits, so no length from the wire
// can wrap an address. p must not be past end.
@inline export function fits(p: usize, n: u64, end: usize): bool {
  return n <= <u64>(end - p);
}

// A decimal of at most 10 digits, or -1.
export function parseDecimal(p: usize, end: usize): i64 {
  if (p >= end || end - p > 20) return -1;
  let v: u64 = 0;
  for (let q = p; q < end; q++) {
    const c = load<u8>(q);
    if (c < 0x30 || c > 0x39) return -1;
    v = v * 10 + <u64>(c - 0x30);
    if (v > 0xffffffff) return -1;
  }
  return <i64>v;
}

// Whether [p, end) is an unsigned decimal that fits 64 bits, as memcached's incr/decr delta must.
export function u64DecimalValid(p: usize, end: usize): bool {
  const n = end - p;
  if (n == 0 || n > 20) return false;
  for (let q = p; q < end; q++) {
    const c = load<u8>(q);
    if (c < 0x30 || c > 0x39) return false;
  }
  if (n < 20) return true;
  const most = "18446744073709551615";
  for (let i: usize = 0; i < 20; i++) {
    const c = <i32>load<u8>(p + i);
    const m = most.charCodeAt(<i32>i);
    if (c != m) return c < m;
  }
  return true;
}

// Whether the bytes [p, end) spell `word` exactly.
export function isWord(p: usize, end: usize, word: string): bool {
  const n = <usize>word.length;
  if (end - p != n) return false;
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + i) != <u32>word.charCodeAt(<i32>i)) return false;
  return true;
}

// Whether [p, end) starts with `prefix`.
export function startsWith(p: usize, end: usize, prefix: string): bool {
  const n = <usize>prefix.length;
  if (end - p < n) return false;
  for (let i: usize = 0; i < n; i++) if (<u32>load<u8>(p + i) != <u32>prefix.charCodeAt(<i32>i)) return false;
  return true;
}

// Writes v in decimal at p; returns the end.
export function writeDecimal(p: usize, v: u32): usize {
  let digits: u32 = 1;
  for (let t = v; t >= 10; t /= 10) digits++;
  let q = p + digits;
  let x = v;
  do {
    store<u8>(--q, 0x30 + (x % 10));
    x /= 10;
  } while (x != 0);
  return p + digits;
}
