// Restores a snapshot from the IO region. Everything is validated before any state changes,
// so a refused snapshot leaves the running state as it was.
import { regionOffset, regionSize, statInc } from "../layout/header";
import { xxh64, keyHash } from "../util/hash";
import { keyValid } from "../protocol/keys";
import { detector, l1, l2 } from "../layout/regions";
import { initTables, initDetector } from "../cache/tables";
import { restoreVersion } from "../cache/barrier";
import { NONE } from "../detect/lossy";
import { trackedCapacity, trackedFind } from "../detect/table";
import { detSetTotal, detRestoreEntry } from "../detect/detector";
import { l1Put } from "../cache/l1";
import { slPut, slSlotBytes } from "../cache/skiplist";
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
import {
  R_IO,
  SNAPSHOT_MAGIC,
  SNAPSHOT_FORMAT,
  ST_VALID,
  ST_INVALID,
  ST_PENDING,
  E_SNAP_MAGIC,
  E_SNAP_FORMAT,
  E_SNAP_CHECKSUM,
  E_SNAP_MALFORMED,
  E_SNAP_CAPACITY,
  S_RESTORES,
  S_RESTORE_REFUSED,
} from "../abi/abi";

@inline function recordEnd(at: usize): usize {
  const end = at + RECORD_HEADER + <usize>load<u16>(at, RD_KEY_LEN) + <usize>load<u32>(at, RD_REPLY_LEN);
  return (end + 7) & ~(<usize>7);
}

// Checks the records of an L1 or L2 section; returns false on anything out of shape.
function recordsOk(at: usize, end: usize, maxPayload: usize): bool {
  if (at + LIST_HEAD > end) return false;
  const count = load<u32>(at);
  at += LIST_HEAD;
  for (let i: u32 = 0; i < count; i++) {
    if (at + RECORD_HEADER > end) return false;
    const keyLen = <usize>load<u16>(at, RD_KEY_LEN);
    const replyLen = <usize>load<u32>(at, RD_REPLY_LEN);
    const state = <u32>load<u8>(at, RD_STATE);
    if (state != ST_VALID && state != ST_PENDING && state != ST_INVALID) return false;
    if (replyLen > end - at || recordEnd(at) > end) return false;
    if (!keyValid(at + RECORD_HEADER, keyLen)) return false;
    if (keyLen + replyLen > maxPayload) return false;
    at = recordEnd(at);
  }
  return at == end;
}

const ALL_SECTIONS: u32 = (1 << TAG_DETECT) | (1 << TAG_L1) | (1 << TAG_L2) | (1 << TAG_GLOBALS);
const DETECTOR_ONLY: u32 = 1 << TAG_DETECT;

// Checks a snapshot whose sections are exactly `sections` (a mask of tags).
function validate(base: usize, len: usize, sections: u32): i32 {
  if (len < SNAP_HEADER || len > regionSize(R_IO)) return E_SNAP_MALFORMED;
  if (load<u32>(base, SH_MAGIC) != SNAPSHOT_MAGIC) return E_SNAP_MAGIC;
  if (load<u32>(base, SH_FORMAT) != SNAPSHOT_FORMAT) return E_SNAP_FORMAT;
  const bodyLen = <usize>load<u32>(base, SH_BODY_LEN);
  if (bodyLen != len - SNAP_HEADER) return E_SNAP_MALFORMED;
  if (<u32>xxh64(base + SNAP_HEADER, bodyLen) != load<u32>(base, SH_CHECKSUM)) return E_SNAP_CHECKSUM;
  let at = base + SNAP_HEADER;
  const end = base + len;
  let seen: u32 = 0;
  while (at < end) {
    if (at + SECTION_HEADER > end) return E_SNAP_MALFORMED;
    const tag = load<u32>(at, SEC_TAG);
    const size = <usize>load<u32>(at, SEC_LEN);
    const body = at + SECTION_HEADER;
    if (size > end - body || (size & 7) != 0) return E_SNAP_MALFORMED;
    if (tag == TAG_DETECT) {
      if (size < DETECT_HEAD) return E_SNAP_MALFORMED;
      const count = <usize>load<u32>(body, DS_COUNT);
      if (DETECT_HEAD + count * DETECT_ENTRY != size) return E_SNAP_MALFORMED;
      if (count > <usize>trackedCapacity(detector())) return E_SNAP_CAPACITY;
    } else if (tag == TAG_L1) {
      if (!recordsOk(body, body + size, 0xffffffff)) return E_SNAP_MALFORMED;
    } else if (tag == TAG_L2) {
      if (!recordsOk(body, body + size, 0xffffffff)) return E_SNAP_MALFORMED;
    } else if (tag == TAG_GLOBALS) {
      if (size != 8) return E_SNAP_MALFORMED;
    } else {
      return E_SNAP_MALFORMED;
    }
    if ((seen & (1 << tag)) != 0 || (sections & (1 << tag)) == 0) return E_SNAP_MALFORMED;
    seen |= 1 << tag;
    at = body + size;
  }
  return seen == sections ? 0 : E_SNAP_MALFORMED;
}

// Why the snapshot is refused (counted), or 0.
function refusal(base: usize, len: usize, sections: u32): i32 {
  const err = validate(base, len, sections);
  if (err != 0) statInc(S_RESTORE_REFUSED);
  return err;
}

function applyDetector(body: usize): void {
  const d = detector();
  detSetTotal(d, load<u64>(body, DS_N), load<u64>(body, DS_EPOCH));
  const count = load<u32>(body, DS_COUNT);
  for (let i: u32 = 0; i < count; i++) {
    const e = body + DETECT_HEAD + <usize>i * DETECT_ENTRY;
    const h = load<u64>(e, DE_HASH);
    if (trackedFind(d, h) == NONE) detRestoreEntry(d, h, load<u64>(e, DE_LOWER), load<u64>(e, DE_WIDTH));
  }
}

function applyRecords(body: usize, end: usize, layer: u32): void {
  const count = load<u32>(body);
  let at = body + LIST_HEAD;
  for (let i: u32 = 0; i < count; i++) {
    const keyLen = <usize>load<u16>(at, RD_KEY_LEN);
    const replyLen = <usize>load<u32>(at, RD_REPLY_LEN);
    const key = at + RECORD_HEADER;
    const h = keyHash(key, keyLen);
    const state = <u32>load<u8>(at, RD_STATE);
    const version = load<u64>(at, RD_VERSION);
    if (layer == TAG_L1) {
      l1Put(l1(), h, key, keyLen, key + keyLen, replyLen, state, version, load<u64>(at, RD_EXPIRY));
    } else if (keyLen + replyLen <= <usize>slSlotBytes(l2())) {
      slPut(
        l2(),
        h,
        key,
        keyLen,
        load<u64>(at, RD_FREQ),
        key + keyLen,
        replyLen,
        state,
        version,
        load<u64>(at, RD_EXPIRY),
      );
    }
    at = recordEnd(at);
  }
}

// Replaces the whole state with the snapshot of `len` bytes at the start of the IO region.
// Tables of other sizes take what fits, by their own eviction rules (oldest L1 entries and
// lowest-frequency L2 entries go first); a detector that cannot hold every entry refuses it.
export function readSnapshot(len: u32): i32 {
  const base = regionOffset(R_IO);
  const err = refusal(base, <usize>len, ALL_SECTIONS);
  if (err != 0) return err;
  initTables();
  let at = base + SNAP_HEADER;
  const end = base + <usize>len;
  while (at < end) {
    const tag = load<u32>(at, SEC_TAG);
    const size = <usize>load<u32>(at, SEC_LEN);
    const body = at + SECTION_HEADER;
    if (tag == TAG_DETECT) {
      applyDetector(body);
    } else if (tag == TAG_L1 || tag == TAG_L2) {
      applyRecords(body, body + size, tag);
    } else if (tag == TAG_GLOBALS) {
      restoreVersion(load<u64>(body));
    }
    at = body + size;
  }
  statInc(S_RESTORES);
  return 0;
}

// Replaces the detector alone with a detector-only snapshot (writeDetectorSnapshot): the module
// swap's path, where the caches stay in place because every module lays them out alike.
export function readDetectorSnapshot(len: u32): i32 {
  const base = regionOffset(R_IO);
  const err = refusal(base, <usize>len, DETECTOR_ONLY);
  if (err != 0) return err;
  initDetector();
  applyDetector(base + SNAP_HEADER + SECTION_HEADER);
  statInc(S_RESTORES);
  return 0;
}
