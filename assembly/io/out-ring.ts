// The out ring and the tx buffer. Forwarded datagrams go out from where they arrived (their
// header rewritten in place); the datagrams the core writes itself (cache hits, split
// requests, local answers) are built in the tx buffer, which empties at each process().
import { regionOffset, regionSize, cfgU32, statInc } from "../layout/header";
import {
  H_FTX_COUNT,
  R_OUT,
  R_TXBUF,
  C_OUT_MAX,
  HEADER_BASE,
  H_OUT_COUNT,
  H_TX_USED,
  DESC_BYTES,
  D_OFF,
  D_LEN,
  D_AUX,
  D_FLAGS,
  S_DROP_OUT_FULL,
} from "../abi/abi";
import { frameWrite, setFrameId, setFrameReserved, FRAME_HEADER, MAX_DATAGRAM_PAYLOAD } from "../protocol/udp-frame";
import { framesOn, frameBytes, frameAlloc } from "./frame-pool";
import { FRAME_HEADROOM, OUT_CLIENT, OUT_STREAM } from "../abi/abi";
import { chargeReply } from "./reply-budget";
import { BIN_HEADER, BIN_RESPONSE, BH_OPCODE, BH_STATUS, BH_BODY_LEN, BH_OPAQUE } from "../protocol/binary";

const FRAME_PAYLOAD_MAX: usize = 1472; // a 1500-byte MTU less the IPv4 and UDP headers

export function outReset(): void {
  store<u32>(HEADER_BASE + H_OUT_COUNT, 0);
  store<u32>(HEADER_BASE + H_TX_USED, 0);
  store<u32>(HEADER_BASE + H_FTX_COUNT, 0);
}

@inline export function outCount(): u32 {
  return load<u32>(HEADER_BASE + H_OUT_COUNT);
}

@inline export function outRoom(n: u32): bool {
  return outCount() + n <= cfgU32(C_OUT_MAX);
}

// A connection's request (TCP, proxy/stream-refs.ts): its client is (connection id, port 0).
// No UDP client has port 0, and kvlb's own requests have address 0.
@inline export function isStreamClient(addr: u32, port: u32): bool {
  return addr != 0 && port == 0;
}

// Queues one datagram; false (and counted) when the ring is full, or when it goes to a client
// whose reply budget cannot pay for it.
export function outPush(ptr: usize, len: usize, addr: u32, port: u32, sock: u32): bool {
  const n = outCount();
  if (n >= cfgU32(C_OUT_MAX)) {
    statInc(S_DROP_OUT_FULL);
    return false;
  }
  let kind = sock;
  // a connection's reply: TCP paces it, so no reply budget; its request's number is in the header
  if (kind == OUT_CLIENT && isStreamClient(addr, port)) kind = OUT_STREAM;
  else if (kind == OUT_CLIENT && !chargeReply(addr, len)) return false;
  const d = regionOffset(R_OUT) + <usize>n * DESC_BYTES;
  store<u32>(d + D_OFF, <u32>ptr);
  store<u32>(d + D_LEN, <u32>len);
  store<u32>(d + D_AUX, addr);
  store<u32>(d + D_FLAGS, kind | (port << 16));
  store<u32>(HEADER_BASE + H_OUT_COUNT, n + 1);
  return true;
}

// Bytes in the tx buffer, or 0 when it is full.
export function txAlloc(bytes: usize): usize {
  const used = <usize>load<u32>(HEADER_BASE + H_TX_USED);
  const size = regionSize(R_TXBUF);
  const aligned = (bytes + 7) & ~(<usize>7);
  if (used + aligned > size) return 0;
  store<u32>(HEADER_BASE + H_TX_USED, <u32>(used + aligned));
  return regionOffset(R_TXBUF) + used;
}

// Bytes left in the tx buffer.
export function txFree(): usize {
  return regionSize(R_TXBUF) - <usize>load<u32>(HEADER_BASE + H_TX_USED);
}

// Room for one datagram to send: in a frame of its own when the frame layer is on (headers are
// written in front of it later, no copy), otherwise in the tx buffer.
export function datagramAlloc(bytes: usize): usize {
  if (framesOn() && bytes <= FRAME_PAYLOAD_MAX && bytes + FRAME_HEADROOM <= frameBytes()) {
    const p = frameAlloc();
    if (p != 0) return p;
  }
  return txAlloc(bytes);
}

// The most bytes of a message one datagram carries to this client: a connection takes it whole.
@inline function chunkBytes(body: usize, addr: u32, port: u32): usize {
  return isStreamClient(addr, port) ? max<usize>(body, 1) : MAX_DATAGRAM_PAYLOAD;
}

@inline function chunkCount(body: usize, most: usize): usize {
  return body == 0 ? 1 : (body + most - 1) / most;
}

// Whether replyMessage can queue `len` bytes and a tail of `tailLen` now. A cached value that does
// not fit this burst is better read from its backend (its reply is forwarded in place) than
// dropped. Counted against the tx buffer alone, though the frame layer may hold some of it.
export function replyFits(len: usize, tailLen: usize, addr: u32, port: u32): bool {
  const body = len + tailLen;
  const total = chunkCount(body, chunkBytes(body, addr, port));
  return total <= 0xffff && outRoom(<u32>total) && txFree() >= body + total * (<usize>FRAME_HEADER + 8);
}

// Sends `len` bytes at `payload` to a client as one message under request id `id`, split into
// datagrams of at most 1400 bytes with their sequence numbers (a connection takes it whole).
// False when out of room.
export function replyMessage(payload: usize, len: usize, addr: u32, port: u32, id: u32, tail: string = ""): bool {
  const tailLen = <usize>tail.length;
  const body = len + tailLen;
  const most = chunkBytes(body, addr, port);
  const chunks = chunkCount(body, most);
  const total = <u32>chunks;
  if (chunks > 0xffff || !outRoom(total)) {
    statInc(S_DROP_OUT_FULL);
    return false;
  }
  for (let seq: u32 = 0; seq < total; seq++) {
    const from = <usize>seq * most;
    const chunk = min(most, body - from);
    const at = datagramAlloc(chunk + FRAME_HEADER);
    if (at == 0) {
      statInc(S_DROP_OUT_FULL);
      return false;
    }
    frameWrite(at, id, seq, total);
    // the chunk is [from, from + chunk) of payload followed by tail
    const fromPayload = from < len ? min(chunk, len - from) : 0;
    memory.copy(at + FRAME_HEADER, payload + from, fromPayload);
    for (let i = fromPayload; i < chunk; i++) {
      store<u8>(at + FRAME_HEADER + i, <u8>tail.charCodeAt(<i32>(from + i - len)));
    }
    outPush(at, chunk + FRAME_HEADER, addr, port, 0);
  }
  return true;
}

// Sends a backend's reply (a frame header, then its payload) on to a client under request id
// `id`: in place, or, when it came whole over TCP and is longer than a datagram, split into
// datagrams for a UDP client as memcached would split it.
export function forwardReply(slot: usize, len: usize, addr: u32, port: u32, id: u32): bool {
  if (isStreamClient(addr, port)) {
    setFrameId(slot, id);
    setFrameReserved(slot, id >> 16);
    return outPush(slot, len, addr, port, OUT_CLIENT);
  }
  if (len - FRAME_HEADER <= MAX_DATAGRAM_PAYLOAD) {
    setFrameId(slot, id);
    return outPush(slot, len, addr, port, OUT_CLIENT);
  }
  return replyMessage(slot + FRAME_HEADER, len - FRAME_HEADER, addr, port, id);
}

// A short local answer ("END\r\n", "ERROR\r\n", ...) in one datagram.
export function replyText(text: string, addr: u32, port: u32, id: u32): bool {
  const len = <usize>text.length;
  if (!outRoom(1)) {
    statInc(S_DROP_OUT_FULL);
    return false;
  }
  const buf = datagramAlloc(len + FRAME_HEADER);
  if (buf == 0) {
    statInc(S_DROP_OUT_FULL);
    return false;
  }
  frameWrite(buf, id, 0, 1);
  writeAscii(buf + FRAME_HEADER, text);
  return outPush(buf, len + FRAME_HEADER, addr, port, 0);
}

// A binary response header with `status`, and `text` as its body (an error's message).
export function replyBinary(opcode: u8, status: u16, opaque: u32, text: string, addr: u32, port: u32, id: u32): bool {
  const len = <usize>text.length;
  if (!outRoom(1)) {
    statInc(S_DROP_OUT_FULL);
    return false;
  }
  const buf = datagramAlloc(BIN_HEADER + len + FRAME_HEADER);
  if (buf == 0) {
    statInc(S_DROP_OUT_FULL);
    return false;
  }
  frameWrite(buf, id, 0, 1);
  const h = buf + FRAME_HEADER;
  memory.fill(h, 0, BIN_HEADER);
  store<u8>(h, BIN_RESPONSE);
  store<u8>(h + BH_OPCODE, opcode);
  store<u16>(h + BH_STATUS, bswap<u16>(status));
  store<u32>(h + BH_BODY_LEN, bswap<u32>(<u32>len));
  store<u32>(h + BH_OPAQUE, bswap<u32>(opaque));
  writeAscii(h + BIN_HEADER, text);
  return outPush(buf, BIN_HEADER + len + FRAME_HEADER, addr, port, 0);
}

// Builds "VALUE <key> <flags> <bytes>\r\n<data>\r\n", as a get reply carries it, in the tx
// buffer (data is followed by its own "\r\n" where it lies). Returns the block, 0 when out of
// room; valueBlockLen gives its length.
export function valueBlock(
  key: usize,
  keyLen: usize,
  flags: usize,
  flagsLen: usize,
  count: usize,
  countLen: usize,
  data: usize,
  dataLen: usize,
): usize {
  const block = txAlloc(valueBlockLen(keyLen, flagsLen, countLen, dataLen));
  if (block == 0) return 0;
  let at = writeAscii(block, "VALUE ");
  memory.copy(at, key, keyLen);
  at += keyLen;
  store<u8>(at++, 0x20);
  memory.copy(at, flags, flagsLen);
  at += flagsLen;
  store<u8>(at++, 0x20);
  memory.copy(at, count, countLen);
  at += countLen;
  store<u16>(at, 0x0a0d);
  memory.copy(at + 2, data, dataLen + 2);
  return block;
}

// "VALUE ", two spaces and two line ends around the key, the flags, the count and the data.
@inline export function valueBlockLen(keyLen: usize, flagsLen: usize, countLen: usize, dataLen: usize): usize {
  return keyLen + flagsLen + countLen + dataLen + 12;
}

// Writes an ASCII string literal's bytes; string literals are static data, so nothing is
// allocated.
export function writeAscii(p: usize, text: string): usize {
  const n = text.length;
  for (let i = 0; i < n; i++) store<u8>(p + <usize>i, <u8>text.charCodeAt(i));
  return p + <usize>n;
}
