// The core's exported ABI (docs/core-abi.md): its set-up, the data path (process(n) and
// process_frames(n), one call per burst; tick), snapshots and state checks. The control plane's
// and the tests' view of the state is in inspect.ts.
import { moverTick } from "./proxy/migrate";
import { expireRequests } from "./proxy/timers";
import { sendWantedProbes } from "./proxy/probe";
import { wakeParked } from "./proxy/parked-reads";
import { streamOwedRetry } from "./proxy/stream-refs";
import { initProxy } from "./proxy/init";
import { outReset } from "./io/out-ring";
import { framesOn, poolInit } from "./io/frame-pool";
import { framesFinish } from "./frame/tx";
import { neighClear } from "./frame/neigh";
import {
  ABI_VERSION,
  HEADER_BASE,
  H_STATE,
  H_TOTAL,
  H_CLOCK,
  H_MAGIC,
  H_ABI,
  H_LAYOUT,
  MAGIC,
  LAYOUT_VERSION,
  HS_PLANNED,
  HS_READY,
  STATS_BASE,
  STATS_SLOTS,
  E_MEMORY,
  E_NOT_READY,
  E_STATE_HEADER,
  E_STATE_DETECT,
  E_STATE_L1,
  E_STATE_L2,
} from "./abi/abi";
import { headerState, memoryBytes } from "./layout/header";
import { plan as planLayout } from "./setup/plan";
import { detector, l1, l2 } from "./layout/regions";
import { initTables } from "./cache/tables";
import { processBurst } from "./burst";
import { ready } from "./export-args";
import { FAULT, FAULT_ABI, FAULT_INIT, FAULT_RESTORE, FAULT_MEMORY } from "./util/fault";
import { peerApply } from "./cache/peers";
import { detCheck } from "./detect/detector";
import { l1Check } from "./cache/l1";
import { slCheck } from "./cache/skiplist";
import { demoteCold } from "./cache/layers";
import { adaptAdmission } from "./cache/admission";
import { replicaCool } from "./cache/replicas";
import { hotKeys } from "./cache/hot-keys";
import { writeSnapshot, writeDetectorSnapshot } from "./snapshot/write";
import { readSnapshot, readDetectorSnapshot } from "./snapshot/read";

export function abi_version(): u32 {
  return FAULT == FAULT_ABI ? ABI_VERSION + 1 : ABI_VERSION;
}

// Lays out the regions from the config block. The host then reads the size it needs from the
// header, grows the memory to fit, and calls init().
export function plan(): i32 {
  const r = planLayout();
  if (FAULT == FAULT_MEMORY && r >= 0) store<u32>(HEADER_BASE + H_TOTAL, <u32>r + (256 << 20));
  return r < 0 ? <i32>r : 0;
}

export function init(): i32 {
  if (FAULT == FAULT_INIT) unreachable();
  if (headerState() != HS_PLANNED && headerState() != HS_READY) return E_NOT_READY;
  if (<usize>load<u32>(HEADER_BASE + H_TOTAL) > memoryBytes()) return E_MEMORY;
  memory.fill(STATS_BASE, 0, STATS_SLOTS * 8);
  initTables();
  initProxy();
  if (framesOn()) {
    poolInit();
    neighClear();
  }
  store<u32>(HEADER_BASE + H_STATE, HS_READY);
  return 0;
}

export function process(n: u32): i32 {
  if (!ready()) return E_NOT_READY;
  const r = processBurst(n);
  wakeParked();
  if (framesOn()) framesFinish();
  return r;
}

// Timers: expire requests no backend answered (their out datagrams are appended to the
// ring process() filled), and move keys the detector stopped reporting from L1 down to L2.
export function tick(now: u64): i32 {
  if (!ready()) return E_NOT_READY;
  store<u64>(HEADER_BASE + H_CLOCK, now);
  // on the frame layer, the host sends each burst's output before it ticks
  if (framesOn()) outReset();
  streamOwedRetry();
  expireRequests();
  sendWantedProbes();
  moverTick();
  wakeParked();
  adaptAdmission(now);
  replicaCool();
  const demoted = <i32>demoteCold();
  if (framesOn()) framesFinish();
  return demoted;
}

export {
  set_backends,
  change_backends,
  route_key,
  nat_used,
  set_backend_state,
  purge_cache,
  probe_backend,
  migrate_begin,
  migrate_end,
  migrate_open,
  migrate_keys,
} from "./proxy/exports";
export {
  process_frames,
  frame_port,
  neigh_static,
  neigh_clear,
  neigh_known,
  arp_ask,
  burst_abandon,
} from "./frame/exports";

// Applies n write events of other workers, which the host wrote into R_PEER's in list.
// Writes the n warmest cached keys into R_IO (HOT_KEY_BYTES records); returns how many.
export function hot_keys(n: u32): i32 {
  if (!ready()) return E_NOT_READY;
  return <i32>hotKeys(n);
}

export function peer_writes(n: u32): i32 {
  if (!ready()) return E_NOT_READY;
  return peerApply(n);
}

export function snapshot(): i32 {
  if (!ready()) return E_NOT_READY;
  return writeSnapshot();
}

export function restore(len: u32): i32 {
  if (FAULT == FAULT_RESTORE) unreachable();
  if (!ready()) return E_NOT_READY;
  return readSnapshot(len);
}

// The detector alone, for a module swap: every module lays out the caches alike, so they stay
// in place, and only the detector's state goes through the neutral format.
export function snapshot_detector(): i32 {
  if (!ready()) return E_NOT_READY;
  return writeDetectorSnapshot();
}

export function restore_detector(len: u32): i32 {
  if (FAULT == FAULT_RESTORE) unreachable();
  if (!ready()) return E_NOT_READY;
  return readDetectorSnapshot(len);
}

// 0 when every structure is consistent; otherwise the code of the first broken one.
export function check_state(): i32 {
  const r = check_detector();
  if (r != 0) return r;
  if (!l1Check(l1())) return E_STATE_L1;
  if (!slCheck(l2())) return E_STATE_L2;
  return 0;
}

// The header and the detector alone: what a swap through the detector snapshot changed.
export function check_detector(): i32 {
  if (
    load<u32>(HEADER_BASE + H_MAGIC) != MAGIC ||
    load<u32>(HEADER_BASE + H_ABI) != ABI_VERSION ||
    load<u32>(HEADER_BASE + H_LAYOUT) != LAYOUT_VERSION ||
    !ready()
  )
    return E_STATE_HEADER;
  return detCheck(detector()) ? 0 : E_STATE_DETECT;
}

// The state as the control plane, the tests and the benches see it (inspect.ts).
export * from "./inspect";
