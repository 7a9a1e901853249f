// Lays out every region from the config block and records it in the header's region table.
// The plan is a pure function of the config, so a new module can check a running layout.
import {
  HEADER_BASE,
  CONFIG_BASE,
  CONFIG_BYTES,
  STATS_BASE,
  STATS_SLOTS,
  DYNAMIC_BASE,
  H_MAGIC,
  H_ABI,
  H_LAYOUT,
  H_STATE,
  H_TOTAL,
  H_REGION_COUNT,
  MAGIC,
  ABI_VERSION,
  LAYOUT_VERSION,
  HS_PLANNED,
  REGION_COUNT,
  R_CONFIG,
  R_STATS,
  R_RX,
  R_TX,
  R_DETECT,
  R_L1,
  R_L2,
  R_IO,
  R_ROUTE,
  R_NAT,
  R_BARRIER,
  R_PKT,
  R_OUT,
  R_TXBUF,
  R_UMEM,
  R_FPOOL,
  R_FRAME,
  R_FTX,
  C_IMBALANCE,
  C_REPLICA_KEYS,
  R_REPLICAS,
  R_PARKED,
  R_STREAMS,
  R_PLACES,
  PARKED_READS,
  PKC_BYTES,
  PK_BYTES,
  C_ADAPT_MS,
  XDESC_BYTES,
  R_PEER,
  R_CLIENTS,
  C_CLIENT_SLOTS,
  C_PEER_EVENTS,
  FR_HELD_LIST,
  C_FRAMES,
  C_FRAME_BYTES,
  ROUTE_BYTES,
  R_MIGRATE,
  MG_KEYS,
  MG_KEY_BYTES,
  MG_PENDING_BYTES,
  C_RX_SLOTS,
  C_SLOT_BYTES,
  C_OUT_MAX,
  C_TXBUF_BYTES,
  C_NAT_ENTRIES,
  C_NAT_TIMEOUT_MS,
  C_BARRIER_BUCKETS,
  C_SUPPORT,
  C_EPSILON,
  C_WARM,
  C_DETECT_CAPACITY,
  C_L1_ENTRIES,
  C_L1_BYTES,
  C_L2_ENTRIES,
  C_L2_SLOT_BYTES,
  C_BURST_MAX,
  DESC_BYTES,
  E_CONFIG,
  MAX_KEY,
} from "../abi/abi";
import { cfgF64, cfgU32, setRegion } from "../layout/header";
import { indexSlotsFor, indexBytes } from "../util/hash-index";
import { detectRegionBytes, detectCapacity } from "../detect/detector";
import { L1_CONTROL, L1_ENTRY } from "../cache/l1";
import { SL_CONTROL, slNodeBytes } from "../cache/skiplist";
import { snapshotBound } from "../snapshot/format";
import { natBytes } from "../proxy/nat";
import { WORK_BYTES } from "../proxy/context";
import { clientsBytes } from "../proxy/guard";
import { barrierBytes } from "../cache/barrier";
import { peerBytes } from "../cache/peers";
import { replicaBytes } from "../cache/replicas";
import { streamBytes } from "../proxy/stream-refs";
import { PLACES_BYTES } from "../proxy/key-places";

const ALIGN: usize = 64;
const MAX_ENTRIES: u32 = 1 << 24;

@inline function up(n: usize): usize {
  return (n + ALIGN - 1) & ~(ALIGN - 1);
}

export function configValid(): bool {
  const s = cfgF64(C_SUPPORT);
  const e = cfgF64(C_EPSILON);
  const warm = cfgF64(C_WARM);
  if (!(e > 0.0 && e < 1.0 && s > e && s <= 1.0)) return false;
  if (!(warm >= 0.0 && warm <= 1.0)) return false;
  const burst = cfgU32(C_BURST_MAX);
  if (burst == 0 || burst > 65536) return false;
  if (cfgU32(C_L1_ENTRIES) > MAX_ENTRIES || cfgU32(C_L2_ENTRIES) > MAX_ENTRIES) return false;
  if (cfgU32(C_DETECT_CAPACITY) > MAX_ENTRIES) return false;
  const slot = cfgU32(C_L2_SLOT_BYTES);
  if (cfgU32(C_L2_ENTRIES) > 0 && slot < <u32>MAX_KEY + 8) return false;
  if (cfgU32(C_L1_BYTES) > 0x40000000 || slot > 0x100000) return false;
  return proxyConfigValid();
}

@inline function powerOfTwo(n: u32): bool {
  return n != 0 && (n & (n - 1)) == 0;
}

function proxyConfigValid(): bool {
  const nat = cfgU32(C_NAT_ENTRIES);
  if (!powerOfTwo(nat) || nat < 16 || nat > 65536) return false;
  if (!powerOfTwo(cfgU32(C_BARRIER_BUCKETS))) return false;
  if (!powerOfTwo(cfgU32(C_CLIENT_SLOTS)) || cfgU32(C_CLIENT_SLOTS) > 0x100000) return false;
  const slot = cfgU32(C_SLOT_BYTES);
  if (cfgU32(C_RX_SLOTS) > cfgU32(C_BURST_MAX)) return false;
  if (cfgU32(C_RX_SLOTS) > 0 && (slot < 64 || slot > 65536)) return false;
  if (cfgU32(C_OUT_MAX) == 0 || cfgU32(C_OUT_MAX) > 65536) return false;
  if (cfgU32(C_PEER_EVENTS) > 0x100000) return false;
  if (cfgU32(C_TXBUF_BYTES) < 4096 || cfgU32(C_TXBUF_BYTES) > 0x10000000) return false;
  const frames = cfgU32(C_FRAMES);
  const frameBytes = cfgU32(C_FRAME_BYTES);
  if (frames > 0 && (frames > 0x100000 || (frameBytes != 2048 && frameBytes != 4096))) return false;
  const imbalance = cfgF64(C_IMBALANCE);
  if (!(imbalance == 0.0 || imbalance >= 1.0) || cfgU32(C_ADAPT_MS) == 0) return false;
  const replicaKeys = cfgU32(C_REPLICA_KEYS);
  if (replicaKeys != 0 && (!powerOfTwo(replicaKeys) || replicaKeys > 4096)) return false;
  return cfgU32(C_NAT_TIMEOUT_MS) > 0;
}

// The proxy's regions: route table, NAT (plus the per-datagram work area), barrier, rx
// datagram slots, out ring and tx buffer.
function planProxy(start: usize): usize {
  let at = start;
  setRegion(R_ROUTE, at, ROUTE_BYTES);
  at = up(at + ROUTE_BYTES);
  const nat = natBytes(cfgU32(C_NAT_ENTRIES)) + WORK_BYTES;
  setRegion(R_NAT, at, nat);
  at = up(at + nat);
  const barrier = barrierBytes(cfgU32(C_BARRIER_BUCKETS));
  setRegion(R_BARRIER, at, barrier);
  at = up(at + barrier);
  // rx slots start on a page, as AF_XDP frames will
  at = (at + 4095) & ~(<usize>4095);
  const pkt = <usize>cfgU32(C_RX_SLOTS) * <usize>cfgU32(C_SLOT_BYTES);
  setRegion(R_PKT, at, pkt);
  at = up(at + pkt);
  const out = <usize>cfgU32(C_OUT_MAX) * DESC_BYTES;
  setRegion(R_OUT, at, out);
  at = up(at + out);
  const tx = <usize>cfgU32(C_TXBUF_BYTES);
  setRegion(R_TXBUF, at, tx);
  at = up(at + tx);
  return planFrames(at);
}

// The frame layer's regions: the UMEM (page-aligned, as AF_XDP requires), the free-frame pool,
// the port and neighbour tables with the held list, and the frame tx ring.
function planFrames(start: usize): usize {
  const frames = <usize>cfgU32(C_FRAMES);
  let at = (start + 4095) & ~(<usize>4095);
  const umem = frames * <usize>cfgU32(C_FRAME_BYTES);
  setRegion(R_UMEM, at, umem);
  at = up(at + umem);
  const pool: usize = frames == 0 ? 0 : 8 + frames * 4;
  setRegion(R_FPOOL, at, pool);
  at = up(at + pool);
  const frame: usize = frames == 0 ? 0 : <usize>FR_HELD_LIST + frames * 5;
  setRegion(R_FRAME, at, frame);
  at = up(at + frame);
  const ftx: usize = frames == 0 ? 0 : <usize>cfgU32(C_OUT_MAX) * XDESC_BYTES;
  setRegion(R_FTX, at, ftx);
  at = up(at + ftx);
  const peer = peerBytes(cfgU32(C_PEER_EVENTS));
  setRegion(R_PEER, at, peer);
  at = up(at + peer);
  const clients = clientsBytes(cfgU32(C_CLIENT_SLOTS));
  setRegion(R_CLIENTS, at, clients);
  at = up(at + clients);
  const replicas = replicaBytes(cfgU32(C_REPLICA_KEYS));
  setRegion(R_REPLICAS, at, replicas);
  at = up(at + replicas);
  const parked = <usize>PKC_BYTES + <usize>PARKED_READS * <usize>PK_BYTES;
  setRegion(R_PARKED, at, parked);
  at = up(at + parked);
  const streams = streamBytes(cfgU32(C_NAT_ENTRIES));
  setRegion(R_STREAMS, at, streams);
  at = up(at + streams);
  setRegion(R_PLACES, at, PLACES_BYTES);
  at = up(at + PLACES_BYTES);
  const migrate = <usize>MG_KEYS + <usize>cfgU32(C_NAT_ENTRIES) * <usize>MG_KEY_BYTES + <usize>MG_PENDING_BYTES;
  setRegion(R_MIGRATE, at, migrate);
  return up(at + migrate);
}

// Writes the header and region table; returns the bytes of memory needed, or E_CONFIG.
export function plan(): i64 {
  if (!configValid()) return E_CONFIG;
  store<u32>(HEADER_BASE + H_MAGIC, MAGIC);
  store<u32>(HEADER_BASE + H_ABI, ABI_VERSION);
  store<u32>(HEADER_BASE + H_LAYOUT, LAYOUT_VERSION);
  store<u32>(HEADER_BASE + H_REGION_COUNT, REGION_COUNT);
  setRegion(R_CONFIG, CONFIG_BASE, CONFIG_BYTES);
  setRegion(R_STATS, STATS_BASE, STATS_SLOTS * 8);

  let at: usize = DYNAMIC_BASE;
  // rx holds a burst's descriptors on the socket path, its frames' (struct xdp_desc) on the frame path
  const burst = <usize>cfgU32(C_BURST_MAX) * <usize>max(DESC_BYTES, XDESC_BYTES);
  setRegion(R_RX, at, burst);
  at = up(at + burst);
  setRegion(R_TX, at, burst);
  at = up(at + burst);

  const detectCap = detectCapacity();
  const detectSize = detectRegionBytes(detectCap, cfgF64(C_EPSILON));
  setRegion(R_DETECT, at, detectSize);
  at = up(at + detectSize);

  const l1Cap = cfgU32(C_L1_ENTRIES);
  const l1Size = L1_CONTROL + <usize>l1Cap * L1_ENTRY + indexBytes(indexSlotsFor(l1Cap)) + <usize>cfgU32(C_L1_BYTES);
  setRegion(R_L1, at, l1Size);
  at = up(at + l1Size);

  const l2Cap = cfgU32(C_L2_ENTRIES);
  const l2Size =
    SL_CONTROL + slNodeBytes(l2Cap) + indexBytes(indexSlotsFor(l2Cap)) + <usize>l2Cap * <usize>cfgU32(C_L2_SLOT_BYTES);
  setRegion(R_L2, at, l2Size);
  at = up(at + l2Size);

  const io = up(snapshotBound(detectCap, l1Cap, cfgU32(C_L1_BYTES), l2Cap, cfgU32(C_L2_SLOT_BYTES)));
  setRegion(R_IO, at, io);
  at = up(at + io);

  at = planProxy(at);

  store<u32>(HEADER_BASE + H_TOTAL, <u32>at);
  store<u32>(HEADER_BASE + H_STATE, HS_PLANNED);
  return <i64>at;
}
