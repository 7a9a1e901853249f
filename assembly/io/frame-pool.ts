// AF_XDP frames as the core sees them. The pool (R_FPOOL) holds free frames; the host's
// AF_XDP driver takes from it to fill the kernel's fill rings and gives completed tx frames
// back. During a burst, every frame the core takes (received or built) is on the held list;
// at the end of the burst the frames not queued for transmission go back to the pool.
import { regionOffset, cfgU32, statInc } from "../layout/header";
import {
  R_UMEM,
  R_FPOOL,
  R_FRAME,
  C_FRAMES,
  C_FRAME_BYTES,
  FR_HELD,
  FR_HELD_LIST,
  FRAME_HEADROOM,
  S_FRAME_POOL_EMPTY,
  XDESC_BYTES,
  XD_ADDR,
} from "../abi/abi";

export const HELD: u8 = 1;
export const SENDING: u8 = 2;
const RETRY: u8 = 3;
export const NO_FRAME: u32 = 0xffffffff;

@inline export function framesOn(): bool {
  return cfgU32(C_FRAMES) != 0;
}
@inline export function frameBytes(): usize {
  return <usize>cfgU32(C_FRAME_BYTES);
}
@inline export function umemBase(): usize {
  return regionOffset(R_UMEM);
}
@inline function heldList(): usize {
  return regionOffset(R_FRAME) + FR_HELD_LIST;
}
@inline function stateOf(frame: u32): usize {
  return heldList() + ((<usize>cfgU32(C_FRAMES)) << 2) + <usize>frame;
}

// The frame an address falls in, or NO_FRAME when it is not in the UMEM.
export function frameAt(p: usize): u32 {
  const base = umemBase();
  if (p < base) return NO_FRAME;
  const i = (p - base) / frameBytes();
  return i < <usize>cfgU32(C_FRAMES) ? <u32>i : NO_FRAME;
}

@inline export function frameStart(frame: u32): usize {
  return umemBase() + <usize>frame * frameBytes();
}

@inline export function frameState(frame: u32): u8 {
  return load<u8>(stateOf(frame));
}
@inline export function setFrameState(frame: u32, s: u8): void {
  store<u8>(stateOf(frame), s);
}

export function hold(frame: u32): void {
  const r = regionOffset(R_FRAME);
  const n = load<u32>(r + FR_HELD);
  if (n >= cfgU32(C_FRAMES)) return;
  store<u32>(heldList() + ((<usize>n) << 2), frame);
  store<u32>(r + FR_HELD, n + 1);
  setFrameState(frame, HELD);
}

function poolPush(frame: u32): void {
  const pool = regionOffset(R_FPOOL);
  const n = load<u32>(pool);
  if (n >= load<u32>(pool + 4)) return;
  store<u32>(pool + 8 + ((<usize>n) << 2), <u32>(<usize>frame * frameBytes()));
  store<u32>(pool, n + 1);
}

// A free frame for a datagram the core builds: returns where its payload may start (after
// FRAME_HEADROOM), or 0 when the pool is empty.
export function frameAlloc(): usize {
  const pool = regionOffset(R_FPOOL);
  const n = load<u32>(pool);
  if (n == 0) {
    statInc(S_FRAME_POOL_EMPTY);
    return 0;
  }
  const off = <usize>load<u32>(pool + 8 + ((<usize>(n - 1)) << 2));
  store<u32>(pool, n - 1);
  const frame = <u32>(off / frameBytes());
  hold(frame);
  return umemBase() + off + FRAME_HEADROOM;
}

// The end of a burst: every held frame not queued to send is free again.
export function releaseHeld(): void {
  const r = regionOffset(R_FRAME);
  const n = load<u32>(r + FR_HELD);
  const list = heldList();
  for (let i: u32 = 0; i < n; i++) {
    const f = load<u32>(list + ((<usize>i) << 2));
    if (frameState(f) == HELD) poolPush(f);
    setFrameState(f, 0);
  }
  store<u32>(r + FR_HELD, 0);
}

// A burst that trapped, to be run again: frames it built replies in go back to the pool, and
// the n it received are let go without going back, since the retry takes them again.
export function abandonHeld(rx: usize, n: u32): void {
  const fsize = frameBytes();
  const frames = cfgU32(C_FRAMES);
  for (let k: u32 = 0; k < n; k++) {
    const f = load<u64>(rx + <usize>k * XDESC_BYTES + XD_ADDR) / <u64>fsize;
    if (f < <u64>frames) setFrameState(<u32>f, RETRY);
  }
  releaseHeld(); // returns only the HELD ones: the received frames are RETRY
}

// At init every frame is free.
export function poolInit(): void {
  const pool = regionOffset(R_FPOOL);
  const frames = cfgU32(C_FRAMES);
  store<u32>(pool + 4, frames);
  store<u32>(pool, 0);
  for (let f: u32 = 0; f < frames; f++) poolPush(f);
  memory.fill(stateOf(0), 0, <usize>frames);
  store<u32>(regionOffset(R_FRAME) + FR_HELD, 0);
}
