// A get of several keys from a TCP client is answered in the order of its keys, as memcached
// answers it, though its values come from the caches at once and from several backends in their
// own time. Each piece of such a reply carries its place in the frame header's reserved field,
// and the host puts a request's pieces in that order before it writes any of them
// (host/datapath/socket/stream_conns.cc). The pieces of any other request carry 0, and go out as
// they come.
//
// A piece's place rides above the 16-bit request id the core passes with it (frameWrite and
// forwardReply put it in the reserved field); the id of a UDP client never has it.

export const ORDER_NONE: u32 = 0;
// After every value placed: one whose key's place was lost.
export const ORDER_LOST: u32 = 0xfffd;
// After every value: a client reads an error line as the end of the get's reply.
export const ORDER_ERROR: u32 = 0xfffe;
export const ORDER_END: u32 = 0xffff;
// Places 1.. are the keys' (a cache hit's, a key's, or a run of keys sent in one line), in key order.
export const ORDER_FIRST: u32 = 1;

@inline export function orderedId(id: u32, order: u32): u32 {
  return (id & 0xffff) | (order << 16);
}
