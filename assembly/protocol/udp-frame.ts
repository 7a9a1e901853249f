// memcached's UDP frame header: request id, sequence number, datagram count and a reserved
// field, four big-endian u16s ahead of every datagram's payload.
export const FRAME_HEADER: usize = 8;
export const MAX_DATAGRAM_PAYLOAD: usize = 1392; // memcached's 1400-byte datagrams less the header

@inline export function be16(p: usize): u32 {
  return ((<u32>load<u8>(p)) << 8) | (<u32>load<u8>(p + 1));
}

@inline export function setBe16(p: usize, v: u32): void {
  store<u8>(p, <u8>(v >> 8));
  store<u8>(p + 1, <u8>v);
}

@inline export function frameId(p: usize): u32 {
  return be16(p);
}
@inline export function frameSeq(p: usize): u32 {
  return be16(p + 2);
}
@inline export function frameTotal(p: usize): u32 {
  return be16(p + 4);
}
@inline export function frameReserved(p: usize): u32 {
  return be16(p + 6);
}
@inline export function setFrameId(p: usize, id: u32): void {
  setBe16(p, id);
}
// memcached ignores the reserved field; on a request to a backend kvlb puts its key's hash there,
// by which the host keeps one key's requests on one TCP connection to the backend, in order.
@inline export function setFrameReserved(p: usize, v: u32): void {
  setBe16(p + 6, v & 0xffff);
}

// `id` is the request id, with a connection's reply piece's place above it (proxy/reply-order.ts).
export function frameWrite(p: usize, id: u32, seq: u32, total: u32): void {
  setBe16(p, id);
  setBe16(p + 2, seq);
  setBe16(p + 4, total);
  setBe16(p + 6, id >> 16);
}
