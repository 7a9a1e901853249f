// The snapshot format: versioned, and independent of table sizes and layout, so that a state
// can move into an instance with other capacities (or another module). docs/snapshot.md.
//
//   header   magic u32, format u32, body length u32, checksum u32 (low half of xxh64(body))
//   body     sections of (tag u32, length u32, payload padded to 8)
//   DETECT   N u64, epoch u64, count u32, 0 u32, count x (hash u64, lower u64, width u64)
//   L1       count u32, 0 u32, count x record, oldest first
//   L2       count u32, 0 u32, count x record, lowest frequency first
//   GLOBALS  last write version u64
//   record   freq u64, version u64, reply length u32, key length u16, state u8, 0 u8,
//            expiry u64 (the core's clock, EXPIRY_NEVER for none), key, reply, padded to 8
//            (freq is 0 in L1)
export const SNAP_HEADER: usize = 16;
export const SH_MAGIC: usize = 0;
export const SH_FORMAT: usize = 4;
export const SH_BODY_LEN: usize = 8;
export const SH_CHECKSUM: usize = 12;

export const SECTION_HEADER: usize = 8;
export const SEC_TAG: usize = 0;
export const SEC_LEN: usize = 4;

// The DETECT body's head, then its entries. The lower bound and the width are every detector's
// neutral terms (detect/detector.ts), not its in-memory fields.
export const DETECT_HEAD: usize = 24;
export const DS_N: usize = 0;
export const DS_EPOCH: usize = 8;
export const DS_COUNT: usize = 16;
export const DETECT_ENTRY: usize = 24;
export const DE_HASH: usize = 0;
export const DE_LOWER: usize = 8;
export const DE_WIDTH: usize = 16;

// The head of an L1 or L2 body: count u32, 0 u32.
export const LIST_HEAD: usize = 8;

export const RECORD_HEADER: usize = 32;
export const RD_FREQ: usize = 0;
export const RD_VERSION: usize = 8;
export const RD_REPLY_LEN: usize = 16;
export const RD_KEY_LEN: usize = 20;
export const RD_STATE: usize = 22;
export const RD_EXPIRY: usize = 24;
export const TAG_DETECT: u32 = 1;
export const TAG_L1: u32 = 2;
export const TAG_L2: u32 = 3;
export const TAG_GLOBALS: u32 = 4;

// The largest snapshot the given capacities can produce.
export function snapshotBound(detectCap: u32, l1Cap: u32, l1Bytes: u32, l2Cap: u32, l2Slot: u32): usize {
  return (
    SNAP_HEADER +
    4 * SECTION_HEADER +
    DETECT_HEAD +
    <usize>detectCap * DETECT_ENTRY +
    LIST_HEAD +
    <usize>l1Cap * (RECORD_HEADER + 8) +
    <usize>l1Bytes +
    LIST_HEAD +
    <usize>l2Cap * (RECORD_HEADER + 8 + <usize>l2Slot) +
    8
  );
}
