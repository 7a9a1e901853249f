// Writes the state into the IO region in the snapshot format (format.ts).
import { regionOffset, regionSize, align8 } from "../layout/header";
import { xxh64 } from "../util/hash";
import { NONE } from "../util/hash-index";
import { detector, l1, l2 } from "../layout/regions";
import { readStamp } from "../cache/barrier";
import { trackedCount, trackedEntry, trackedTotal, trackedEpoch } from "../detect/table";
import { detLower } from "../detect/detector";
import {
  l1Oldest,
  l1Next,
  l1KeyPtr,
  l1KeyLen,
  l1ReplyPtr,
  l1ReplyLen,
  l1State,
  l1Version,
  l1Expiry,
} from "../cache/l1";
import {
  slMin,
  slNext,
  slKeyPtr,
  slKeyLen,
  slReplyPtr,
  slReplyLen,
  slState,
  slVersion,
  slFreq,
  slExpiry,
} from "../cache/skiplist";
import {
  SNAP_HEADER,
  SH_MAGIC,
  SH_FORMAT,
  SH_BODY_LEN,
  SH_CHECKSUM,
  SECTION_HEADER,
  SEC_TAG,
  SEC_LEN,
  DETECT_HEAD,
  DS_N,
  DS_EPOCH,
  DS_COUNT,
  DETECT_ENTRY,
  DE_HASH,
  DE_LOWER,
  DE_WIDTH,
  LIST_HEAD,
  RECORD_HEADER,
  RD_FREQ,
  RD_VERSION,
  RD_REPLY_LEN,
  RD_KEY_LEN,
  RD_STATE,
  RD_EXPIRY,
  TAG_DETECT,
  TAG_L1,
  TAG_L2,
  TAG_GLOBALS,
} from "./format";
import { R_IO, SNAPSHOT_MAGIC, SNAPSHOT_FORMAT, E_IO, TK_HASH, TK_DELTA } from "../abi/abi";

function record(
  at: usize,
  freq: u64,
  version: u64,
  key: usize,
  keyLen: u32,
  reply: usize,
  replyLen: u32,
  state: u32,
  expiry: u64,
): usize {
  store<u64>(at, freq, RD_FREQ);
  store<u64>(at, version, RD_VERSION);
  store<u32>(at, replyLen, RD_REPLY_LEN);
  store<u16>(at, <u16>keyLen, RD_KEY_LEN);
  store<u8>(at, <u8>state, RD_STATE);
  store<u8>(at, 0, RD_STATE + 1);
  store<u64>(at, expiry, RD_EXPIRY);
  memory.copy(at + RECORD_HEADER, key, keyLen);
  memory.copy(at + RECORD_HEADER + keyLen, reply, replyLen);
  const end = at + RECORD_HEADER + keyLen + replyLen;
  memory.fill(end, 0, align8(end) - end);
  return align8(end);
}

@inline function section(at: usize, tag: u32, end: usize): void {
  store<u32>(at, tag, SEC_TAG);
  store<u32>(at, <u32>(end - at - SECTION_HEADER), SEC_LEN);
}

// The DETECT section at `at`, every detector's entries in the neutral terms (hash, lower bound,
// width); returns where it ends.
function detectSection(at: usize): usize {
  const d = detector();
  const s = at;
  at += SECTION_HEADER;
  store<u64>(at, trackedTotal(d), DS_N);
  store<u64>(at, trackedEpoch(d), DS_EPOCH);
  const n = trackedCount(d);
  store<u32>(at, n, DS_COUNT);
  store<u32>(at, 0, DS_COUNT + 4);
  at += DETECT_HEAD;
  for (let i: u32 = 0; i < n; i++) {
    const e = trackedEntry(d, i);
    store<u64>(at, load<u64>(e, TK_HASH), DE_HASH);
    store<u64>(at, detLower(d, i), DE_LOWER);
    store<u64>(at, load<u64>(e, TK_DELTA), DE_WIDTH);
    at += DETECT_ENTRY;
  }
  section(s, TAG_DETECT, at);
  return at;
}

// The header in front of the body that ends at `at`; returns the snapshot's length.
function finish(base: usize, at: usize): i32 {
  const bodyLen = at - base - SNAP_HEADER;
  store<u32>(base, SNAPSHOT_MAGIC, SH_MAGIC);
  store<u32>(base, SNAPSHOT_FORMAT, SH_FORMAT);
  store<u32>(base, <u32>bodyLen, SH_BODY_LEN);
  store<u32>(base, <u32>xxh64(base + SNAP_HEADER, bodyLen), SH_CHECKSUM);
  return <i32>(at - base);
}

// The detector alone, for a module swap (the caches stay where they are); its length, or E_IO.
export function writeDetectorSnapshot(): i32 {
  const base = regionOffset(R_IO);
  if (regionSize(R_IO) < SNAP_HEADER) return E_IO;
  return finish(base, detectSection(base + SNAP_HEADER));
}

// Returns the snapshot's length in bytes, or E_IO if the IO region is too small.
export function writeSnapshot(): i32 {
  const base = regionOffset(R_IO);
  if (regionSize(R_IO) < SNAP_HEADER) return E_IO;
  let at = detectSection(base + SNAP_HEADER);

  const a = l1();
  let s = at;
  at += SECTION_HEADER + LIST_HEAD;
  let count: u32 = 0;
  for (let i = l1Oldest(a); i != NONE; i = l1Next(a, i)) {
    at = record(
      at,
      0,
      l1Version(a, i),
      l1KeyPtr(a, i),
      l1KeyLen(a, i),
      l1ReplyPtr(a, i),
      l1ReplyLen(a, i),
      l1State(a, i),
      l1Expiry(a, i),
    );
    count++;
  }
  store<u32>(s + SECTION_HEADER, count);
  store<u32>(s + SECTION_HEADER + 4, 0);
  section(s, TAG_L1, at);

  const b = l2();
  s = at;
  at += SECTION_HEADER + LIST_HEAD;
  count = 0;
  for (let j = slMin(b); j != NONE; j = slNext(b, j)) {
    at = record(
      at,
      slFreq(b, j),
      slVersion(b, j),
      slKeyPtr(b, j),
      slKeyLen(b, j),
      slReplyPtr(b, j),
      slReplyLen(b, j),
      slState(b, j),
      slExpiry(b, j),
    );
    count++;
  }
  store<u32>(s + SECTION_HEADER, count);
  store<u32>(s + SECTION_HEADER + 4, 0);
  section(s, TAG_L2, at);

  s = at;
  at += SECTION_HEADER;
  store<u64>(at, readStamp());
  at += 8;
  section(s, TAG_GLOBALS, at);

  return finish(base, at);
}
