// Where one request ends in a byte stream (a TCP connection), as memcached frames it: a binary
// request is its 24-byte header and the body length it declares; an ASCII request is its line,
// and for a storage command (set, add, replace, append, prepend, cas; meta ms) the data block it
// declares and its "\r\n". Nothing is copied; the caller compares the answer with what it holds.
import { findNewline, contentEnd, skipSpaces, tokenEnd, parseDecimal, NOT_FOUND } from "./text";
import { commandCode, CMD_SET, CMD_ADD, CMD_CAS, CMD_MS } from "./commands";

// More bytes are needed before the request's size is known.
export const FRAME_MORE: i64 = 0;
// No newline within the longest line kvlb reads: a get of 512 keys of 250 bytes, and room.
export const FRAME_LINE_TOO_LONG: i64 = -1;
export const MAX_LINE: usize = 131072;

const BINARY_MAGIC: u8 = 0x80;
// memcached reads a storage command's length as a C int and refuses one whose "\r\n" would not
// fit in it (CLIENT_ERROR bad command line format), reading no data block after the line.
export const DATA_LENGTH_MAX: i64 = 2147483645;
const BINARY_HEADER: usize = 24;

// The size in bytes of the request starting at p (which may run past end: its data has not all
// arrived), FRAME_MORE, or FRAME_LINE_TOO_LONG.
export function streamRequestBytes(p: usize, end: usize): i64 {
  if (p >= end) return FRAME_MORE;
  if (load<u8>(p) == BINARY_MAGIC) {
    if (end - p < BINARY_HEADER) return FRAME_MORE;
    // total body length, big-endian at offset 8
    return <i64>BINARY_HEADER + <i64>bswap<u32>(load<u32>(p + 8));
  }
  const scanEnd = end - p > MAX_LINE ? p + MAX_LINE : end;
  const newline = findNewline(p, scanEnd);
  if (newline == NOT_FOUND) return scanEnd == end ? FRAME_MORE : FRAME_LINE_TOO_LONG;
  const line = <i64>(newline + 1 - p);
  const lineEnd = contentEnd(p, newline);
  const start = skipSpaces(p, lineEnd);
  const cmdEnd = tokenEnd(start, lineEnd);
  const code = commandCode(start, cmdEnd);
  // the token that declares the data's length: set <key> <flags> <exptime> <bytes>, ms <key> <datalen>
  let skip: u32 = 0;
  if (code == CMD_SET || code == CMD_ADD || code == CMD_CAS) {
    // memcached answers ERROR to a storage line with the wrong number of words, and reads what
    // follows as commands: there is no data block to take (cas has one word more)
    const words = wordCount(start, lineEnd);
    const least: u32 = code == CMD_CAS ? 6 : 5;
    if (words != least && words != least + 1) return line;
    skip = 4;
  } else if (code == CMD_MS) skip = 2;
  else return line;
  let q = skipSpaces(cmdEnd, lineEnd);
  for (let i: u32 = 1; i < skip && q < lineEnd; i++) q = skipSpaces(tokenEnd(q, lineEnd), lineEnd);
  const bytes = parseDecimal(q, tokenEnd(q, lineEnd));
  // a length that does not parse, or that memcached refuses, is the command handler's to refuse:
  // the line alone is the request
  return bytes < 0 || bytes > DATA_LENGTH_MAX ? line : line + bytes + 2;
}

// The words on a line, counted up to 8.
function wordCount(p: usize, lineEnd: usize): u32 {
  let n: u32 = 0;
  for (let q = skipSpaces(p, lineEnd); q < lineEnd && n < 8; q = skipSpaces(tokenEnd(q, lineEnd), lineEnd)) n++;
  return n;
}
