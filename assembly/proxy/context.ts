// The work area for one client datagram: its peer, the children it forwarded, and what the
// client must still be sent once all of them are done. It sits after the NAT entries.
import { regionOffset, cfgU32 } from "../layout/header";
import { R_NAT, C_NAT_ENTRIES } from "../shared/abi";
import { natBytes, natEntry, natTake, natFree, NAT_NONE, NS_GROUP, N_GROUP, N_GETS, N_ALL, N_GFLAGS,
  N_CLIENT_ADDR, N_CLIENT_PORT, N_CLIENT_ID, N_KIND, NK_GET, NK_GETS, GF_END, GF_MN } from "./nat";
import { replyText } from "./out";

export const WORK_BYTES: usize = 8192;
export const MAX_CHILDREN: u32 = 256;
export const MAX_GET_KEYS: u32 = 512;

const W_COUNT: usize = 0;
const W_FLAGS: usize = 4;
const W_GETS: usize = 8;
export const W_ADDR: usize = 12;
export const W_PORT: usize = 16;
export const W_ID: usize = 20;
export const W_SLOT: usize = 24;
export const W_LEN: usize = 28;
export const W_SINGLE: usize = 32; // u32, 1 when the datagram holds one command: forward in place
export const W_STAGED: usize = 36; // u8, writeBegin's answer
const W_CHILDREN: usize = 64;
export const W_MISSES: usize = 64 + 4 * 256; // MAX_GET_KEYS of (key u32, length u16, backend u16)
export const W_TOKENS: usize = W_MISSES + 8 * 512; // up to 8 token spans (start u32, end u32)
export const W_LOOKUP: usize = 40; // lookup()'s (address, length)

@inline export function work(): usize {
  return regionOffset(R_NAT) + natBytes(cfgU32(C_NAT_ENTRIES));
}

@inline export function workU32(field: usize): u32 {
  return load<u32>(work() + field);
}

export function workBegin(slot: usize, len: usize, addr: u32, port: u32, id: u32): void {
  const w = work();
  store<u32>(w + W_COUNT, 0);
  store<u32>(w + W_FLAGS, 0);
  store<u32>(w + W_GETS, 0);
  store<u32>(w + W_ADDR, addr);
  store<u32>(w + W_PORT, port);
  store<u32>(w + W_ID, id);
  store<u32>(w + W_SLOT, <u32>slot);
  store<u32>(w + W_LEN, <u32>len);
  store<u32>(w + W_SINGLE, 0);
}

@inline export function workFlag(flag: u32): void {
  const w = work();
  store<u32>(w + W_FLAGS, load<u32>(w + W_FLAGS) | flag);
}

@inline export function workFull(): bool {
  return workU32(W_COUNT) >= MAX_CHILDREN;
}

export function workChild(id: u32, isGet: bool): void {
  const w = work();
  const n = load<u32>(w + W_COUNT);
  store<u32>(w + W_CHILDREN + (<usize>n << 2), id);
  store<u32>(w + W_COUNT, n + 1);
  if (isGet) store<u32>(w + W_GETS, load<u32>(w + W_GETS) + 1);
}

// After the datagram's last command: answer what needs no backend now, and tie several
// children to a group that will send the single END and MN.
export function workFinish(): void {
  const w = work();
  const n = load<u32>(w + W_COUNT);
  const gets = load<u32>(w + W_GETS);
  let flags = load<u32>(w + W_FLAGS);
  const addr = load<u32>(w + W_ADDR);
  const port = load<u32>(w + W_PORT);
  const id = load<u32>(w + W_ID);
  if ((flags & GF_END) != 0 && gets == 0) {
    replyText("END\r\n", addr, port, id);
    flags &= ~(<u32>GF_END);
  }
  if (n == 0) {
    if ((flags & GF_MN) != 0) replyText("MN\r\n", addr, port, id);
    return;
  }
  if (n == 1 && (flags & GF_MN) == 0) return;
  const g = natTake(NS_GROUP, addr, port, id);
  if (g == NAT_NONE) return; // each child then answers for itself
  const e = natEntry(g);
  store<u16>(e + N_GETS, <u16>gets);
  store<u16>(e + N_ALL, <u16>n);
  store<u16>(e + N_GFLAGS, <u16>flags);
  for (let i: u32 = 0; i < n; i++) {
    store<u32>(natEntry(load<u32>(w + W_CHILDREN + (<usize>i << 2))) + N_GROUP, g);
  }
}

// Closes the commands so far as one group and starts the next, as memcached answers each get
// of a datagram with its own END.
export function workSplit(): void {
  workFinish();
  const w = work();
  store<u32>(w + W_COUNT, 0);
  store<u32>(w + W_FLAGS, 0);
  store<u32>(w + W_GETS, 0);
}

@inline function isGetKind(kind: u8): bool {
  return kind == NK_GET || kind == NK_GETS;
}

export const DONE_PASS_END: u32 = 1; // the END ending this child's reply goes to the client
export const DONE_SEND_MN: u32 = 2; // the caller sends MN after this child's reply

// A child is done (answered, or timed out when `timedOut`). Returns DONE_* flags; a timed-out
// child's missing END is sent here.
export function childDone(child: usize, timedOut: bool): u32 {
  const isGet = isGetKind(load<u8>(child + N_KIND));
  const g = load<u32>(child + N_GROUP);
  if (g == NAT_NONE) {
    if (timedOut && isGet) {
      replyText("END\r\n", load<u32>(child + N_CLIENT_ADDR), <u32>load<u16>(child + N_CLIENT_PORT),
        <u32>load<u16>(child + N_CLIENT_ID));
    }
    return DONE_PASS_END;
  }
  const e = natEntry(g);
  if (load<u8>(e) != NS_GROUP) return DONE_PASS_END;
  const addr = load<u32>(e + N_CLIENT_ADDR);
  const port = <u32>load<u16>(e + N_CLIENT_PORT);
  const id = <u32>load<u16>(e + N_CLIENT_ID);
  let done: u32 = 0;
  if (isGet) {
    const gets = load<u16>(e + N_GETS) - 1;
    store<u16>(e + N_GETS, gets);
    if (gets == 0 && (load<u16>(e + N_GFLAGS) & GF_END) != 0) {
      if (timedOut) replyText("END\r\n", addr, port, id);
      else done |= DONE_PASS_END;
    }
  }
  const all = load<u16>(e + N_ALL) - 1;
  store<u16>(e + N_ALL, all);
  if (all == 0) {
    if ((load<u16>(e + N_GFLAGS) & GF_MN) != 0) done |= DONE_SEND_MN;
    natFree(g);
  }
  return done;
}
