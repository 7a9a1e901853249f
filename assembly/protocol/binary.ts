// memcached's binary protocol: the 24-byte header (protocol_binary.h) and what each opcode
// does, in one table. Every field is big-endian.
import { be16 } from "./udp-frame";

export const BIN_HEADER: usize = 24;
export const BIN_REQUEST: u8 = 0x80;
export const BIN_RESPONSE: u8 = 0x81;

// Header fields, as byte offsets.
export const BH_OPCODE: usize = 1;
export const BH_KEY_LEN: usize = 2; // u16
export const BH_EXTRAS_LEN: usize = 4; // u8
export const BH_STATUS: usize = 6; // u16 (a request's vbucket)
export const BH_BODY_LEN: usize = 8; // u32: extras + key + value
export const BH_OPAQUE: usize = 12; // u32, echoed by the server

// Statuses kvlb answers with.
export const BS_OK: u16 = 0x0000;
export const BS_KEY_NOT_FOUND: u16 = 0x0001;
export const BS_INVALID_ARGUMENTS: u16 = 0x0004;
export const BS_NOT_SUPPORTED: u16 = 0x0083;
export const BS_TEMPORARY_FAILURE: u16 = 0x0086;

export const OP_NOOP: u8 = 0x0a;
export const OP_VERSION: u8 = 0x0b;

// What an opcode is, for the proxy.
export const BC_REFUSED: u8 = 0; // unknown, or a whole-server command (flush, stat, verbosity, SASL, ...)
export const BC_READ: u8 = 1; // get, getk, getq, getkq: keyed, read only
export const BC_WRITE: u8 = 2; // set, add, ..., delete, incr, decr, touch, gat: keyed, changes the item
export const BC_NOOP: u8 = 3;
export const BC_VERSION: u8 = 4;
export const BC_QUIT: u8 = 5; // quit (answered) and quitq: close a TCP connection
export const OP_QUIT: u8 = 0x07;
const OP_QUITQ: u8 = 0x17;

export function binaryClass(op: u8): u8 {
  switch (op) {
    case 0x00:
    case 0x09:
    case 0x0c:
    case 0x0d:
      return BC_READ;
    case 0x01:
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x0e:
    case 0x0f:
    case 0x11:
    case 0x12:
    case 0x13:
    case 0x14:
    case 0x15:
    case 0x16:
    case 0x19:
    case 0x1a:
    case 0x1c:
    case 0x1d:
    case 0x1e:
    case 0x23:
    case 0x24:
      return BC_WRITE; // touch and gat change the item's expiry, which a cached copy must follow
    case OP_NOOP:
      return BC_NOOP;
    case OP_VERSION:
      return BC_VERSION;
    case OP_QUIT:
    case OP_QUITQ:
      return BC_QUIT;
  }
  return BC_REFUSED;
}

// The quiet opcode's loud twin (getq -> get, setq -> set, ...), or the opcode itself.
export function loudOpcode(op: u8): u8 {
  switch (op) {
    case 0x09:
      return 0x00; // getq
    case 0x0d:
      return 0x0c; // getkq
    case 0x11:
      return 0x01; // setq
    case 0x12:
      return 0x02; // addq
    case 0x13:
      return 0x03; // replaceq
    case 0x14:
      return 0x04; // deleteq
    case 0x15:
      return 0x05; // incrementq
    case 0x16:
      return 0x06; // decrementq
    case 0x19:
      return 0x0e; // appendq
    case 0x1a:
      return 0x0f; // prependq
    case 0x1e:
      return 0x1d; // gatq
    case 0x24:
      return 0x23; // gatkq
  }
  return op;
}

@inline export function binKeyLen(p: usize): usize {
  return <usize>be16(p + BH_KEY_LEN);
}

@inline export function binExtrasLen(p: usize): usize {
  return <usize>load<u8>(p + BH_EXTRAS_LEN);
}

@inline export function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

@inline export function binBodyLen(p: usize): u32 {
  return be32(p + BH_BODY_LEN);
}

@inline export function binStatus(p: usize): u16 {
  return <u16>be16(p + BH_STATUS);
}

// The length of the whole request at p (header and body), or 0 when it is not a well-formed
// request that ends by `end`: the body must hold its extras and key, and fit what is left.
export function binRequestLen(p: usize, end: usize): usize {
  if (end - p < BIN_HEADER || load<u8>(p) != BIN_REQUEST) return 0;
  const body = <u64>binBodyLen(p);
  if (body > <u64>(end - p - BIN_HEADER)) return 0;
  if (<u64>(binKeyLen(p) + binExtrasLen(p)) > body) return 0;
  return BIN_HEADER + <usize>body;
}

// Whether the request's extras, key and body have the shape memcached requires of its opcode
// (proto_bin.c, dispatch_bin_command). memcached answers any other shape "Invalid arguments" and
// closes the connection, which over a pooled backend connection would lose every other client's
// requests behind it. Stricter than memcached in one place: touch and gat carry no value, since
// memcached would read one as the next request.
export function binShapeOk(p: usize): bool {
  const op = loudOpcode(load<u8>(p + BH_OPCODE));
  const key = binKeyLen(p);
  const extras = binExtrasLen(p);
  const body = <u64>binBodyLen(p);
  const keyed = <u64>key;
  switch (op) {
    case 0x00: // get
    case 0x0c: // getk
    case 0x04: // delete
      return key > 0 && extras == 0 && body == keyed;
    case 0x01: // set
    case 0x02: // add
    case 0x03: // replace
      return key > 0 && extras == 8;
    case 0x05: // increment
    case 0x06: // decrement
      return key > 0 && extras == 20 && body == keyed + 20;
    case 0x0e: // append
    case 0x0f: // prepend
      return key > 0 && extras == 0;
    case 0x1c: // touch
    case 0x1d: // gat
    case 0x23: // gatk
      return key > 0 && extras == 4 && body == keyed + 4;
    case OP_NOOP:
    case OP_VERSION:
      return key == 0 && extras == 0 && body == 0;
  }
  return true; // refused before it could be forwarded
}
