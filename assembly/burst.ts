// One burst: the host has written n descriptors into the rx ring; each result goes to the
// same slot of the tx ring. No import is called and nothing is allocated here.
import { regionOffset, regionSize, statInc, statAdd, memoryBytes, cfgU32 } from "./layout/header";
import { keyHash } from "./util/hash";
import { keyLengthOk } from "./protocol/keys";
import { isHot } from "./detect/table";
import { detObserve } from "./detect/detector";
import { lookup } from "./cache/layers";
import { detector } from "./layout/regions";
import { handleClient } from "./proxy/client";
import { handleBackend } from "./proxy/backend";
import { handleStream } from "./proxy/stream";
import { streamOwedRetry } from "./proxy/stream-refs";
import { outReset } from "./io/out-ring";
import {
  R_RX,
  R_TX,
  DESC_BYTES,
  D_OFF,
  D_LEN,
  D_AUX,
  D_FLAGS,
  DK_KEY,
  DK_OBSERVE,
  DK_CLIENT,
  DK_BACKEND,
  DK_STREAM,
  RXF_TRUNC,
  RXF_ADMIN,
  RF_HOT,
  RF_TRACKED,
  RF_L1_HIT,
  RF_L2_HIT,
  RF_ERROR,
  LAYER_L1,
  LAYER_L2,
  LAYER_NONE,
  C_WEIGHTED,
  C_FRAME_MODE,
  C_SOCKET_WHOLE_MAX,
  FM_KERNEL_SEES_FRAMES,
  S_SOCKET_DUPLICATE,
  E_BURST,
  E_KEY,
  E_BOUNDS,
  E_WEIGHT,
  E_KIND,
  S_BURSTS,
  S_BURST_REFUSED,
  S_OBSERVED,
  S_WEIGHT,
  S_HOT,
  S_L1_HITS,
  S_L1_MISSES,
  S_L2_HITS,
  S_L2_MISSES,
  S_DROP_KEY,
  S_DROP_BOUNDS,
  S_DROP_WEIGHT,
  S_DROP_KIND,
} from "./abi/abi";

@inline function refuse(tx: usize, code: i32, stat: u32): void {
  store<u32>(tx, 0, D_AUX);
  store<u32>(tx, 0, D_LEN);
  store<u32>(tx, RF_ERROR | ((<u32>-code) << 16), D_FLAGS);
  statInc(stat);
}

export function processBurst(n: u32): i32 {
  const rxBase = regionOffset(R_RX);
  if (<usize>n * DESC_BYTES > regionSize(R_RX)) {
    statInc(S_BURST_REFUSED);
    return E_BURST;
  }
  const txBase = regionOffset(R_TX);
  outReset();
  streamOwedRetry();
  const d = detector();
  const limit = memoryBytes();
  const weighted = cfgU32(C_WEIGHTED) != 0;
  const wholeMax = (cfgU32(C_FRAME_MODE) & FM_KERNEL_SEES_FRAMES) != 0 ? <usize>cfgU32(C_SOCKET_WHOLE_MAX) : 0;
  let l1Hits: u64 = 0;
  let l2Hits: u64 = 0;
  let misses: u64 = 0;
  let hotCount: u64 = 0;
  let weightSum: u64 = 0;
  let observed: u64 = 0;
  for (let k: u32 = 0; k < n; k++) {
    const rx = rxBase + <usize>k * DESC_BYTES;
    const tx = txBase + <usize>k * DESC_BYTES;
    const off = <usize>load<u32>(rx, D_OFF);
    const len = <usize>load<u32>(rx, D_LEN);
    const kind = load<u32>(rx, D_FLAGS) & 0xff;
    if (kind == DK_CLIENT || kind == DK_BACKEND) {
      store<u32>(tx, 0, D_FLAGS);
      if (off + len > limit || off + len < off) {
        refuse(tx, E_BOUNDS, S_DROP_BOUNDS);
        continue;
      }
      const rf = load<u32>(rx, D_FLAGS);
      const peer = load<u32>(rx, D_AUX);
      if (kind == DK_CLIENT) {
        if (wholeMax != 0 && len <= wholeMax) {
          statInc(S_SOCKET_DUPLICATE); // the frame path has this request too, and serves it
          continue;
        }
        handleClient(off, len, peer, rf >> 16, (rf & RXF_TRUNC) != 0);
      } else handleBackend(off, len, peer, rf >> 16, (rf & RXF_TRUNC) != 0);
      continue;
    }
    if (kind == DK_STREAM) {
      store<u32>(tx, 0, D_FLAGS);
      if (off + len > limit || off + len < off || load<u32>(rx, D_AUX) == 0) {
        refuse(tx, E_BOUNDS, S_DROP_BOUNDS);
        continue;
      }
      const sf = load<u32>(rx, D_FLAGS);
      handleStream(off, len, load<u32>(rx, D_AUX), sf >> 16, (sf & RXF_ADMIN) != 0, tx);
      continue;
    }
    if (kind != DK_KEY && kind != DK_OBSERVE) {
      refuse(tx, E_KIND, S_DROP_KIND);
      continue;
    }
    if (!keyLengthOk(len)) {
      refuse(tx, E_KEY, S_DROP_KEY);
      continue;
    }
    if (off + len > limit || off + len < off) {
      refuse(tx, E_BOUNDS, S_DROP_BOUNDS);
      continue;
    }
    const weight: u64 = weighted ? <u64>load<u32>(rx, D_AUX) : 1;
    if (weight == 0) {
      refuse(tx, E_WEIGHT, S_DROP_WEIGHT);
      continue;
    }
    weightSum += weight;
    observed++;
    const h = keyHash(off, len);
    const f = detObserve(d, h, weight);
    const hot = isHot(d, f);
    let flags: u32 = f != 0 ? RF_TRACKED : 0;
    if (hot) {
      flags |= RF_HOT;
      hotCount++;
    }
    const layer = kind == DK_KEY ? lookup(h, off, len, f, hot, tx) : LAYER_NONE;
    if (layer == LAYER_L1) {
      flags |= RF_L1_HIT;
      l1Hits++;
      // lookup() wrote (address, length) into the descriptor's first two fields
      store<u32>(tx, load<u32>(tx, D_OFF), D_AUX);
    } else if (layer == LAYER_L2) {
      flags |= RF_L2_HIT;
      l2Hits++;
      store<u32>(tx, load<u32>(tx, D_OFF), D_AUX);
    } else {
      if (kind == DK_KEY) misses++;
      store<u32>(tx, 0, D_AUX);
      store<u32>(tx, 0, D_LEN);
    }
    store<u32>(tx, <u32>off, D_OFF);
    store<u32>(tx, flags, D_FLAGS);
  }
  statInc(S_BURSTS);
  statAdd(S_OBSERVED, observed);
  statAdd(S_WEIGHT, weightSum);
  statAdd(S_HOT, hotCount);
  statAdd(S_L1_HITS, l1Hits);
  statAdd(S_L2_HITS, l2Hits);
  statAdd(S_L1_MISSES, l2Hits + misses);
  statAdd(S_L2_MISSES, misses);
  return <i32>n;
}
