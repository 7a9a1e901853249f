// Where each key of a connection's multi-key get goes in its reply, for the keys sent to a
// backend over UDP in one line (reply-order.ts). memcached answers such a line with a message of
// its own for each value, in the order of the keys, and the last carries the END. So each
// message's key is looked up among the line's keys, from where the last one was found, and the
// message is sent on with that key's place.
//
// The keys' places wait in a ring (R_PLACES) of (key hash u32, place u16) entries; a child holds
// where the first of its line's entries not found yet is, and how many are left (N_PLACES_AT,
// N_PLACES_LEFT).
// An entry is overwritten only after PLACES more have been written: a reply that comes after
// that finds no place, and goes after the values that did (ORDER_LOST).
import { regionOffset } from "../layout/header";
import { R_PLACES } from "../abi/abi";
import { keyHash } from "../util/hash";
import { skipSpaces, tokenEnd, findNewline, contentEnd, startsWith, NOT_FOUND } from "../protocol/text";
import { frameSeq, FRAME_HEADER } from "../protocol/udp-frame";
import { N_ORDER, N_PLACES_AT, N_PLACES_LEFT } from "./nat";
import { ORDER_LOST } from "./reply-order";

export const PLACES: u32 = 16384;
const HEAD: usize = 0; // u32, entries ever written
const RING: usize = 8;
const ENTRY: usize = 8; // hash u32, place u16, 2 bytes free
export const PLACES_BYTES: usize = RING + <usize>PLACES * ENTRY;

// Where the next line's entries start.
@inline export function placesHead(): u32 {
  return load<u32>(regionOffset(R_PLACES) + HEAD);
}

@inline function entry(at: u32): usize {
  return regionOffset(R_PLACES) + RING + <usize>(at & (PLACES - 1)) * ENTRY;
}

export function placesAdd(key: usize, keyLen: usize, place: u32): void {
  const at = placesHead();
  const e = entry(at);
  store<u32>(e, <u32>keyHash(key, keyLen));
  store<u16>(e + 4, <u16>place);
  store<u32>(regionOffset(R_PLACES) + HEAD, at + 1);
}

// The place of the value in this reply datagram of child `e`: its key's, or, in a datagram after
// the first of a value too large for one, the place of the value found last. The search goes on
// from after the key found last: a key asked twice is answered twice, in the order asked.
export function valuePlace(e: usize, slot: usize, end: usize): u32 {
  const p = slot + FRAME_HEADER;
  if (frameSeq(slot) != 0 || !startsWith(p, end, "VALUE ")) return <u32>load<u16>(e + N_ORDER);
  let place = ORDER_LOST;
  const at = load<u32>(e + N_PLACES_AT);
  const left = <u32>load<u16>(e + N_PLACES_LEFT);
  const newline = findNewline(p, end);
  // the entries from `at` on are there until PLACES more were written after them
  if (newline != NOT_FOUND && placesHead() - at <= PLACES) {
    const lineEnd = contentEnd(p, newline);
    const key = skipSpaces(p + 6, lineEnd);
    const h = <u32>keyHash(key, tokenEnd(key, lineEnd) - key);
    for (let i: u32 = 0; i < left; i++) {
      const found = entry(at + i);
      if (load<u32>(found) != h) continue;
      store<u32>(e + N_PLACES_AT, at + i + 1);
      store<u16>(e + N_PLACES_LEFT, <u16>(left - i - 1));
      place = <u32>load<u16>(found + 4);
      break;
    }
  }
  store<u16>(e + N_ORDER, <u16>place);
  return place;
}
