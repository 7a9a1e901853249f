// What a key may be, for every way one arrives: the text and meta protocols, the binary
// protocol, the exports and the snapshot reader. One rule, memcached's: 1..250 bytes.
import { MAX_KEY } from "../abi/abi";

@inline export function keyLengthOk(len: usize): bool {
  return len - 1 < <usize>MAX_KEY; // 1..250, with 0 wrapping to a huge value
}

// kvlb's own keys start with DEL, "K", "V": a replica copy is stored under its key behind this
// mark and the worker's letter (cache/replicas.ts). No client may name one, so no client can
// read a copy as its own key or overwrite one. Three bytes, so that clients whose keys are random
// bytes (memcaslap's are) meet it about once in 16 million keys, not once in 256.
export const OWN_KEY_MARK: u32 = 0x564b7f; // "\x7fKV", little-endian
export const OWN_KEY_MARK_BYTES: usize = 3;

@inline export function ownKey(p: usize, len: usize): bool {
  return (
    len >= OWN_KEY_MARK_BYTES &&
    load<u8>(p) == <u8>OWN_KEY_MARK &&
    load<u8>(p + 1) == <u8>(OWN_KEY_MARK >> 8) &&
    load<u8>(p + 2) == <u8>(OWN_KEY_MARK >> 16)
  );
}

// A key memcached 1.6 accepts on the text protocol, and not one of kvlb's own. Its tokenizer splits only on spaces, so other
// control bytes are legal (memcaslap sends keys that start with 0x10); NUL, CR and LF are refused
// because no client can send them back in a text reply.
export function keyValid(p: usize, len: usize): bool {
  if (!keyLengthOk(len) || ownKey(p, len)) return false;
  for (let i: usize = 0; i < len; i++) {
    const c = load<u8>(p + i);
    if (c == 0x20 || c == 0x0d || c == 0x0a || c == 0) return false;
  }
  return true;
}

// The 6-bit value of a base64 character, or 0xff.
function sextet(c: u32): u32 {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26; // a-z
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52; // 0-9
  if (c == 0x2b) return 62; // +
  if (c == 0x2f) return 63; // /
  return 0xff;
}

// Decodes the standard base64 text [p, p + len) into dst, as memcached decodes a meta "b" key;
// returns the decoded length, or -1 when the text is not base64 or decodes to no valid key.
// dst has room for MAX_KEY bytes; the text is at most MAX_KEY bytes, so it cannot overflow.
export function base64Key(p: usize, len: usize, dst: usize): i32 {
  if (len == 0 || len > <usize>MAX_KEY || (len & 3) != 0) return -1;
  let out: usize = 0;
  for (let i: usize = 0; i < len; i += 4) {
    const a = sextet(load<u8>(p + i));
    const b = sextet(load<u8>(p + i + 1));
    const c3 = load<u8>(p + i + 2);
    const c4 = load<u8>(p + i + 3);
    const last = i + 4 == len;
    if (a == 0xff || b == 0xff) return -1;
    store<u8>(dst + out++, <u8>((a << 2) | (b >> 4)));
    if (c3 == 0x3d) {
      if (!last || c4 != 0x3d) return -1; // "==" ends the text
      break;
    }
    const c = sextet(c3);
    if (c == 0xff) return -1;
    store<u8>(dst + out++, <u8>(((b & 15) << 4) | (c >> 2)));
    if (c4 == 0x3d) {
      if (!last) return -1;
      break;
    }
    const d = sextet(c4);
    if (d == 0xff) return -1;
    store<u8>(dst + out++, <u8>(((c & 3) << 6) | d));
  }
  return keyLengthOk(out) ? <i32>out : -1;
}
