// The request-id NAT table. A request forwarded to a backend carries its entry's index in the
// low bits of its 16-bit request id and the entry's generation in the bits above, so a reply
// finds its client in one load, and a reply that comes after its entry was given up and reused
// (a late reply) is told apart and dropped. Free entries wait in a FIFO ring, so an index is
// reused only after every other free one: an id comes back only after 65,536 requests.
// Entries for one client datagram that was split over several backends point at a group entry,
// which holds what the client must see once: the single END of a multi-key get, MN, a noop.
import { isStreamClient, streamHold, streamRelease } from "./stream-refs";
import { regionOffset, cfgU32, clock, statInc } from "../layout/header";
import { peerRoomForWrite } from "../cache/peers";
import { R_NAT, C_NAT_ENTRIES, HEADER_BASE, H_NAT_NEXT, H_NAT_USED, S_NAT_OVERFLOW } from "../abi/abi";

export const NAT_ENTRY: usize = 64;
export const NAT_NONE: u32 = 0xffffffff;

// States.
export const NS_FREE: u8 = 0;
export const NS_CHILD: u8 = 1; // forwarded to a backend, waiting for its reply
export const NS_GROUP: u8 = 2;

// What a child waits for, which decides how its reply is read.
export const NK_GET: u8 = 1; // get: VALUE blocks then END; the values may fill the caches
export const NK_GETS: u8 = 2; // gets, gat, gats: the same framing, never cached
export const NK_WRITE: u8 = 3; // an ASCII storage, delete, incr/decr or touch: one reply line
export const NK_META_WRITE: u8 = 4; // ms, md, ma, or a binary write: one reply message
export const NK_OTHER: u8 = 5; // mg, binary reads: one reply message, passed through
export const NK_FILL: u8 = 6; // kvlb's own mg for a value and its TTL: fills a cache, reaches no client
export const NK_FLUSH: u8 = 7; // one backend's part of an admin client's flush_all: its OK is swallowed
export const NK_COPY_READ: u8 = 8; // kvlb's own mg of a replicated key's value, for its copies: reaches no client
export const NK_COPY_WRITE: u8 = 9; // kvlb's own ms of a copy to a replica server: reaches no client
export const NK_PROBE: u8 = 10; // the health checker's stats, sent by the core where no kernel can: reaches no client
export const NK_MIG_READ: u8 = 11; // kvlb's own mg of a moved key's value at its old owner (proxy/migrate.ts): reaches no client
export const NK_MIG_COPY: u8 = 12; // kvlb's own ms (add) of that value to the key's new owner: reaches no client
export const NK_MIG_DELETE: u8 = 13; // kvlb's own md of a moved key at its old owner after a client's write: reaches no client

// Flags.
export const NF_NOREPLY: u8 = 1; // the client asked for no reply: swallow the backend's
export const NF_QUIET: u8 = 2; // meta q or a binary quiet opcode: swallow the replies it suppresses
export const NF_STAGED: u8 = 4; // a set whose value waits in a cache as PENDING
export const NF_MG: u8 = 8; // a quiet read (a miss is suppressed) rather than a quiet write (success is)
export const NF_BINARY: u8 = 16; // a binary request: its errors are binary responses
export const NF_FANOUT: u8 = 64; // kvlb's ms of a copy carrying a client's set, sent beside it
export const NF_COPY: u8 = 32; // a get of a replica copy: its VALUE line names the copy, and a miss goes on to the key's own server
export const NF_PLACED: u8 = 128; // a get each value of whose reply takes its own key's place (key-places.ts)

// Entry fields.
export const N_STATE: usize = 0; // u8
export const N_KIND: usize = 1; // u8
export const N_BACKEND: usize = 2; // u8
export const N_FLAGS: usize = 3; // u8
export const N_CLIENT_ADDR: usize = 4; // u32
export const N_CLIENT_PORT: usize = 8; // u16
export const N_CLIENT_ID: usize = 10; // u16
export const N_GROUP: usize = 12; // u32, the group's index, NAT_NONE when alone
export const N_TIME: usize = 16; // u64, clock when forwarded
export const N_STAMP: usize = 24; // u64, a read's stamp or a write's version
export const N_HASH: usize = 32; // u64, a write's key hash
export const N_SEEN: usize = 40; // u16, datagrams of the current reply message seen
export const N_GETS: usize = 42; // u16, group: get children outstanding
export const N_ALL: usize = 44; // u16, group: children outstanding
export const N_GFLAGS: usize = 46; // u16, group: GF_*
export const N_OPAQUE: usize = 48; // u32, a binary request's opaque; a group's noop opaque
export const N_OPCODE: usize = 52; // u8, a binary request's opcode
export const N_ENDED: usize = 53; // u8, a multi-datagram get reply's last datagram (with its END) was seen
export const N_GEN: usize = 54; // u16, the generation: bumped each time the entry is taken
// u16, a get child's place in its connection's reply (reply-order.ts), 0: none; with NF_PLACED,
// the place of the value it found last
export const N_ORDER: usize = 56;
export const N_PLACES_LEFT: usize = 58; // u16, NF_PLACED: its keys' places not passed yet (key-places.ts)
export const N_PLACES_AT: usize = 60; // u32, NF_PLACED: where the first of them is in R_PLACES
// u16, a get of one moved key (never NF_PLACED): 1 while its miss is to go on to the key's old
// owner, whose index and the key wait in R_MIGRATE (proxy/migrate.ts)
export const N_MIGRATE: usize = 58;

export const GF_END: u16 = 1; // a get in the datagram: one END once its children are done
export const GF_MN: u16 = 2; // an mn in the datagram: MN once every child is done
export const GF_NOOP: u16 = 4; // a binary noop: its reply once every child is done
export const GF_ERRORED: u16 = 8; // a get child failed: the group sends no END
export const GF_FLUSH: u16 = 16; // an admin flush_all: one OK once every backend said OK, else an error

@inline export function natMask(): u32 {
  return cfgU32(C_NAT_ENTRIES) - 1;
}

@inline export function natEntry(index: u32): usize {
  return regionOffset(R_NAT) + <usize>index * NAT_ENTRY;
}

@inline function ring(): usize {
  return regionOffset(R_NAT) + <usize>cfgU32(C_NAT_ENTRIES) * NAT_ENTRY;
}

// The table, then its free ring of u16 indices.
export function natBytes(entries: u32): usize {
  return <usize>entries * (NAT_ENTRY + 2);
}

// How many bits of a request id the index takes: the rest carry the generation.
function indexBits(): u32 {
  return 32 - clz<u32>(natMask());
}

export function natClear(): void {
  const n = cfgU32(C_NAT_ENTRIES);
  memory.fill(regionOffset(R_NAT), 0, natBytes(n));
  const r = ring();
  for (let i: u32 = 0; i < n; i++) store<u16>(r + ((<usize>i) << 1), <u16>i);
  store<u32>(HEADER_BASE + H_NAT_NEXT, 0);
  store<u32>(HEADER_BASE + H_NAT_USED, 0);
}

@inline export function natUsed(): u32 {
  return load<u32>(HEADER_BASE + H_NAT_USED);
}

// The id a request carries on the wire for the entry at `index`.
export function natWireId(index: u32): u32 {
  const gen = <u32>load<u16>(natEntry(index) + N_GEN);
  return ((gen << indexBits()) | index) & 0xffff;
}

export const NAT_LATE: u32 = 0xfffffffe;

// The child entry a reply's request id names: its index, NAT_LATE when the entry has moved on
// (freed, or taken again under another generation), or NAT_NONE when the id names no entry.
export function natFind(wireId: u32): u32 {
  const index = wireId & natMask();
  const e = natEntry(index);
  if (natWireId(index) != wireId) return NAT_LATE;
  if (load<u8>(e + N_STATE) != NS_CHILD) return NAT_LATE;
  return index;
}

// Takes the free entry that has waited longest; returns its index, or NAT_NONE when the table
// is full (counted: the caller answers the client with a server error).
export function natTake(state: u8, addr: u32, port: u32, id: u32): u32 {
  const clientId = id & 0xffff; // a reply piece's place may ride above it (reply-order.ts)
  const n = cfgU32(C_NAT_ENTRIES);
  const used = natUsed();
  if (used >= n) {
    statInc(S_NAT_OVERFLOW);
    return NAT_NONE;
  }
  const head = load<u32>(HEADER_BASE + H_NAT_NEXT);
  const index = <u32>load<u16>(ring() + ((<usize>head) << 1));
  store<u32>(HEADER_BASE + H_NAT_NEXT, (head + 1) & (n - 1));
  store<u32>(HEADER_BASE + H_NAT_USED, used + 1);
  const e = natEntry(index);
  const gen = load<u16>(e + N_GEN) + 1;
  // plain stores: memory.fill is a runtime call in V8, dear at 64 bytes on every request
  for (let o: usize = 0; o < NAT_ENTRY; o += 8) store<u64>(e + o, 0);
  store<u16>(e + N_GEN, gen);
  store<u8>(e + N_STATE, state);
  store<u32>(e + N_CLIENT_ADDR, addr);
  store<u16>(e + N_CLIENT_PORT, <u16>port);
  store<u16>(e + N_CLIENT_ID, <u16>clientId);
  store<u32>(e + N_GROUP, NAT_NONE);
  store<u64>(e + N_TIME, clock());
  // a connection's request stays unfinished while an entry can still answer it
  if (isStreamClient(addr, port)) streamHold(addr, clientId);
  return index;
}

// Gives the entry back to the tail of the free ring.
export function natFree(index: u32): void {
  const e = natEntry(index);
  if (load<u8>(e + N_STATE) == NS_FREE) return;
  store<u8>(e + N_STATE, NS_FREE);
  const addr = load<u32>(e + N_CLIENT_ADDR);
  const port = <u32>load<u16>(e + N_CLIENT_PORT);
  if (isStreamClient(addr, port)) streamRelease(addr, <u32>load<u16>(e + N_CLIENT_ID));
  const n = cfgU32(C_NAT_ENTRIES);
  const used = natUsed();
  const tail = (load<u32>(HEADER_BASE + H_NAT_NEXT) + (n - used)) & (n - 1);
  store<u16>(ring() + ((<usize>tail) << 1), <u16>index);
  store<u32>(HEADER_BASE + H_NAT_USED, used - 1);
}

// Whether a write may begin: the other workers must be told of it (cache/peers.ts).
export function writeRoom(): bool {
  return peerRoomForWrite(natUsed());
}
