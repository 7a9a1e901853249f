// Writes made by the other workers (docs/dpdk.md, "Consistency between workers"). Workers
// share nothing, so each one tells the others, through the host, when a write of a key hash
// begins and when it ends. A begin drops the key from this core's caches and holds the key's
// barrier bucket pending; an end releases it with a new version, so that a read forwarded before
// it cannot fill. The host takes this core's events after every call, before it sends anything
// that call queued, and hands in the others' before each burst it received: so a write is known
// everywhere before the backend sees it, and therefore before any client hears it was stored.
import { regionOffset, cfgU32, statInc, statAdd } from "../layout/header";
import { l1FindHash, l1Remove } from "./l1";
import { slFindHash, slRemove } from "./skiplist";
import { barrierBegin, barrierEnd, barrierCopyBegin, barrierCopyEnd } from "./barrier";
import { NONE } from "../util/hash-index";
import { l1, l2 } from "../layout/regions";
import {
  R_PEER,
  C_PEER_EVENTS,
  HEADER_BASE,
  H_PEER_OUT,
  PEER_EVENT_BYTES,
  PV_HASH,
  PV_KIND,
  PE_BEGIN,
  PE_END,
  S_PEER_EVENTS_OUT,
  S_PEER_EVENTS_IN,
  S_PEER_OVERFLOW,
  PE_PURGE,
  PE_COPY_BEGIN,
  PE_COPY_END,
} from "../abi/abi";
import { purge, PURGE_ALL } from "./purge";

export function peerBytes(events: u32): usize {
  return <usize>events * PEER_EVENT_BYTES * 2;
}

// Whether a write may begin now: its begin and its end must both find room in the out list,
// after the ends that the writes already in flight (at most `inFlight`) may emit in this call.
// A write that may not begin is refused, never left untold: no event is ever dropped.
export function peerRoomForWrite(inFlight: u32): bool {
  const room = cfgU32(C_PEER_EVENTS);
  return room == 0 || <u64>load<u32>(HEADER_BASE + H_PEER_OUT) + 2 + <u64>inFlight <= <u64>room;
}

// A write of this core's began or ended: queued for the other workers.
export function peerEmit(h: u64, kind: u32): void {
  const room = cfgU32(C_PEER_EVENTS);
  if (room == 0) return;
  const n = load<u32>(HEADER_BASE + H_PEER_OUT);
  if (n >= room) {
    statInc(S_PEER_OVERFLOW);
    return;
  }
  const e = regionOffset(R_PEER) + <usize>n * PEER_EVENT_BYTES;
  store<u64>(e, h, PV_HASH);
  store<u32>(e, kind, PV_KIND);
  store<u32>(HEADER_BASE + H_PEER_OUT, n + 1);
  statInc(S_PEER_EVENTS_OUT);
}

function drop(h: u64): void {
  const a = l1();
  const i = l1FindHash(a, h);
  if (i != NONE) l1Remove(a, i);
  const s = l2();
  const j = slFindHash(s, h);
  if (j != NONE) slRemove(s, j);
}

// Applies n events the host wrote into the in list. Returns how many it applied.
export function peerApply(n: u32): i32 {
  const room = cfgU32(C_PEER_EVENTS);
  if (n > room) n = room;
  const base = regionOffset(R_PEER) + <usize>room * PEER_EVENT_BYTES;
  for (let k: u32 = 0; k < n; k++) {
    const e = base + <usize>k * PEER_EVENT_BYTES;
    const h = load<u64>(e, PV_HASH);
    const kind = load<u32>(e, PV_KIND);
    if (kind == PE_BEGIN) {
      barrierBegin(h);
      drop(h);
    } else if (kind == PE_END) {
      barrierEnd(h);
    } else if (kind == PE_PURGE) {
      purge(PURGE_ALL);
    } else if (kind == PE_COPY_BEGIN) {
      barrierCopyBegin(h);
    } else if (kind == PE_COPY_END) {
      barrierCopyEnd(h);
    }
  }
  statAdd(S_PEER_EVENTS_IN, n);
  return <i32>n;
}
