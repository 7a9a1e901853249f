// The request-id NAT table. A request forwarded to a backend carries the index of its entry as
// its request id, so a reply finds its client in one load. Entries for one client datagram that
// was split over several backends point at a group entry, which holds what the client must
// see once: the single END of a multi-key get, and MN.
import { regionOffset, cfgU32, clock, statInc } from "../layout/header";
import { R_NAT, C_NAT_ENTRIES, HEADER_BASE, H_NAT_NEXT, H_NAT_USED, S_NAT_OVERFLOW } from "../shared/abi";

export const NAT_ENTRY: usize = 64;
export const NAT_NONE: u32 = 0xffffffff;
const PROBE: u32 = 64;

// States.
export const NS_FREE: u8 = 0;
export const NS_CHILD: u8 = 1; // forwarded to a backend, waiting for its reply
export const NS_GROUP: u8 = 2;

// What a child waits for, which decides how its reply is read.
export const NK_GET: u8 = 1; // get: VALUE blocks then END; the values may fill the caches
export const NK_GETS: u8 = 2; // gets, gat, gats: the same framing, never cached
export const NK_WRITE: u8 = 3; // an ASCII storage, delete, incr/decr or touch: one reply line
export const NK_META_WRITE: u8 = 4; // ms, md, or a binary write: one reply message
export const NK_OTHER: u8 = 5; // mg, binary reads: one reply message, passed through

// Flags.
export const NF_NOREPLY: u8 = 1; // the client asked for no reply: swallow the backend's
export const NF_QUIET: u8 = 2; // meta q: swallow the replies q suppresses
export const NF_STAGED: u8 = 4; // a set whose value waits in a cache as PENDING
export const NF_MG: u8 = 8; // quiet mg (EN suppressed) rather than ms/md (HD, NF suppressed)

// Entry fields.
export const N_STATE: usize = 0; // u8
export const N_KIND: usize = 1; // u8
export const N_BACKEND: usize = 2; // u8
export const N_FLAGS: usize = 3; // u8
export const N_CLIENT_ADDR: usize = 4; // u32
export const N_CLIENT_PORT: usize = 8; // u16
export const N_CLIENT_ID: usize = 10; // u16
export const N_GROUP: usize = 12; // u32, NAT_NONE when alone
export const N_TIME: usize = 16; // u64, clock when forwarded
export const N_STAMP: usize = 24; // u64, a read's stamp or a write's version
export const N_HASH: usize = 32; // u64, a write's key hash
export const N_SEEN: usize = 40; // u16, datagrams of the reply message seen
export const N_GETS: usize = 42; // u16, group: get children outstanding
export const N_ALL: usize = 44; // u16, group: children outstanding
export const N_GFLAGS: usize = 46; // u16, group: GF_*

export const GF_END: u16 = 1; // a get in the datagram: one END once its children are done
export const GF_MN: u16 = 2; // an mn in the datagram: MN once every child is done

@inline export function natMask(): u32 {
  return cfgU32(C_NAT_ENTRIES) - 1;
}

@inline export function natEntry(id: u32): usize {
  return regionOffset(R_NAT) + (<usize>id) * NAT_ENTRY;
}

export function natBytes(entries: u32): usize {
  return (<usize>entries) * NAT_ENTRY;
}

export function natClear(): void {
  memory.fill(regionOffset(R_NAT), 0, natBytes(cfgU32(C_NAT_ENTRIES)));
  store<u32>(HEADER_BASE + H_NAT_NEXT, 0);
  store<u32>(HEADER_BASE + H_NAT_USED, 0);
}

@inline export function natUsed(): u32 {
  return load<u32>(HEADER_BASE + H_NAT_USED);
}

// Takes a free entry for a client; returns its id, or NAT_NONE when the table is full
// (counted: the caller drops the request and the client times out, as with a lost datagram).
export function natTake(state: u8, addr: u32, port: u32, clientId: u32): u32 {
  const mask = natMask();
  let id = load<u32>(HEADER_BASE + H_NAT_NEXT) & mask;
  for (let i: u32 = 0; i < PROBE && i <= mask; i++) {
    const e = natEntry(id);
    if (load<u8>(e + N_STATE) == NS_FREE) {
      memory.fill(e, 0, NAT_ENTRY);
      store<u8>(e + N_STATE, state);
      store<u32>(e + N_CLIENT_ADDR, addr);
      store<u16>(e + N_CLIENT_PORT, <u16>port);
      store<u16>(e + N_CLIENT_ID, <u16>clientId);
      store<u32>(e + N_GROUP, NAT_NONE);
      store<u64>(e + N_TIME, clock());
      store<u32>(HEADER_BASE + H_NAT_NEXT, (id + 1) & mask);
      store<u32>(HEADER_BASE + H_NAT_USED, natUsed() + 1);
      return id;
    }
    id = (id + 1) & mask;
  }
  statInc(S_NAT_OVERFLOW);
  return NAT_NONE;
}

export function natFree(id: u32): void {
  const e = natEntry(id);
  if (load<u8>(e + N_STATE) == NS_FREE) return;
  store<u8>(e + N_STATE, NS_FREE);
  const used = natUsed();
  if (used != 0) store<u32>(HEADER_BASE + H_NAT_USED, used - 1);
}
