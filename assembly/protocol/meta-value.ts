// "VA <size> <flags>*\r\n<data>\r\n", the answer to kvlb's own "mg <key> v f t [k]": where its
// parts lie, written to a scratch record (VA_*) so that nothing is allocated.
import { findNewline, skipSpaces, tokenEnd, parseDecimal, startsWith, contentEnd, fits, NOT_FOUND } from "./text";

export const VA_SIZE_AT: usize = 0; // u32, the size's digits
export const VA_SIZE_END: usize = 4; // u32
export const VA_DATA: usize = 8; // u32, the data
export const VA_SIZE: usize = 12; // u32, its length
export const VA_FLAGS: usize = 16; // u32, the client flags' digits (0: no f)
export const VA_FLAGS_END: usize = 20; // u32
export const VA_KEY: usize = 24; // u32, the key (0: no k)
export const VA_KEY_END: usize = 28; // u32
export const VA_TTL: usize = 32; // i64, the remaining TTL (-1: none; -2: no t)
export const VA_BYTES: usize = 40;

// Reads the VA at [p, end) into `out`; false for EN, an error, or a VA whose data does not fit.
export function readVa(p: usize, end: usize, out: usize): bool {
  if (!startsWith(p, end, "VA ")) return false;
  const newline = findNewline(p, end);
  if (newline == NOT_FOUND) return false;
  const lineEnd = contentEnd(p, newline);
  const sizeAt = p + 3;
  const sizeEnd = tokenEnd(sizeAt, lineEnd);
  const size = parseDecimal(sizeAt, sizeEnd);
  if (size < 0 || !fits(newline + 1, <u64>size + 2, end)) return false;
  memory.fill(out, 0, VA_BYTES);
  store<i64>(out + VA_TTL, -2);
  store<u32>(out + VA_SIZE_AT, <u32>sizeAt);
  store<u32>(out + VA_SIZE_END, <u32>sizeEnd);
  store<u32>(out + VA_DATA, <u32>(newline + 1));
  store<u32>(out + VA_SIZE, <u32>size);
  for (let t = skipSpaces(sizeEnd, lineEnd); t < lineEnd;) {
    const te = tokenEnd(t, lineEnd);
    const c = load<u8>(t);
    if (c == 0x66) {
      store<u32>(out + VA_FLAGS, <u32>(t + 1));
      store<u32>(out + VA_FLAGS_END, <u32>te);
    } else if (c == 0x6b) {
      store<u32>(out + VA_KEY, <u32>(t + 1));
      store<u32>(out + VA_KEY_END, <u32>te);
    } else if (c == 0x74) store<i64>(out + VA_TTL, signedDecimal(t + 1, te));
    t = skipSpaces(te, lineEnd);
  }
  return true;
}

// A decimal with an optional minus sign, or -2 when it is not one.
function signedDecimal(p: usize, end: usize): i64 {
  if (startsWith(p, end, "-")) {
    const v = parseDecimal(p + 1, end);
    return v < 0 ? -2 : -v;
  }
  return parseDecimal(p, end) < 0 ? -2 : parseDecimal(p, end);
}
