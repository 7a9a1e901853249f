// Opening a NAT entry for a request that goes to a backend, and queueing it: in place when the
// client's datagram can go as it is, or as a datagram built in the tx buffer.
import { statInc } from "../layout/header";
import { S_FORWARDED, S_KEYS, S_NO_BACKEND, OUT_BACKEND } from "../shared/abi";
import { keyHash } from "../util/hash";
import { detObserve } from "../detect/detector";
import { detector } from "../state";
import { ketamaRoute } from "../route/ketama";
import { natTake, natEntry, NAT_NONE, NS_CHILD, N_KIND, N_BACKEND, N_FLAGS, N_STAMP, N_HASH, NK_GET,
  NK_GETS } from "./nat";
import { workU32, workChild, workFull, W_ADDR, W_PORT, W_ID, W_SLOT, W_LEN } from "./context";
import { backendAddr, backendPort, backendSent } from "../route/backends";
import { outPush, datagramAlloc, replyText } from "./out";
import { frameWrite, setFrameId, FRAME_HEADER } from "./frame";

export const NO_BACKEND: u32 = 0xffffffff;

// Hashes a requested key and counts it in the detector; returns the hash.
export function countKey(key: usize, keyLen: usize): u64 {
  const h = keyHash(key, keyLen);
  detObserve(detector(), h, 1);
  statInc(S_KEYS);
  return h;
}

// The key's backend, or NO_BACKEND after answering the client why it cannot be forwarded.
export function backendFor(key: usize, keyLen: usize): u32 {
  const b = ketamaRoute(key, keyLen);
  if (b == NO_BACKEND) {
    statInc(S_NO_BACKEND);
    answer("SERVER_ERROR kvlb has no backends\r\n");
    return NO_BACKEND;
  }
  if (workFull()) {
    answer("SERVER_ERROR too many commands in one datagram\r\n");
    return NO_BACKEND;
  }
  return b;
}

// Returns the child's request id, or NAT_NONE when the table is full (the request is dropped).
export function newChild(kind: u8, b: u32, flags: u8, stamp: u64, h: u64): u32 {
  const id = natTake(NS_CHILD, workU32(W_ADDR), workU32(W_PORT), workU32(W_ID));
  if (id == NAT_NONE) return NAT_NONE;
  const e = natEntry(id);
  store<u8>(e + N_KIND, kind);
  store<u8>(e + N_BACKEND, <u8>b);
  store<u8>(e + N_FLAGS, flags);
  store<u64>(e + N_STAMP, stamp);
  store<u64>(e + N_HASH, h);
  workChild(id, kind == NK_GET || kind == NK_GETS);
  return id;
}

// The client's own datagram, with the child's id in its header.
export function sendInPlace(id: u32, b: u32): void {
  const slot = <usize>workU32(W_SLOT);
  setFrameId(slot, id);
  if (outPush(slot, <usize>workU32(W_LEN), backendAddr(b), backendPort(b), OUT_BACKEND)) {
    backendSent(b);
    statInc(S_FORWARDED);
  }
}

// A request datagram to build: returns where its payload goes (after the frame header), or 0.
export function buildBegin(payloadBytes: usize): usize {
  const buf = datagramAlloc(payloadBytes + FRAME_HEADER);
  return buf == 0 ? 0 : buf + FRAME_HEADER;
}

export function sendBuilt(id: u32, b: u32, payload: usize, payloadLen: usize): void {
  const buf = payload - FRAME_HEADER;
  frameWrite(buf, id, 0, 1);
  if (outPush(buf, payloadLen + FRAME_HEADER, backendAddr(b), backendPort(b), OUT_BACKEND)) {
    backendSent(b);
    statInc(S_FORWARDED);
  }
}

// A local answer to the datagram's client.
export function answer(text: string): void {
  replyText(text, workU32(W_ADDR), workU32(W_PORT), workU32(W_ID));
}
