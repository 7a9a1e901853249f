// The core's ABI, read by both the AssemblyScript core and the TypeScript host.
// Only integer literals live here so that both compilers accept the file as is.

export const ABI_VERSION = 1;
export const LAYOUT_VERSION = 1;
export const SNAPSHOT_FORMAT = 1;
export const MAGIC = 0x424c564b; // "KVLB"
export const SNAPSHOT_MAGIC = 0x5353564b; // "KVSS"

// Everything below HEADER_BASE belongs to the module itself (static data, scratch heap), which
// instantiation may rewrite. State starts at HEADER_BASE.
export const HEADER_BASE = 0x40000;
export const HEADER_BYTES = 0x1000;
export const CONFIG_BASE = 0x41000;
export const CONFIG_BYTES = 0x100;
export const STATS_BASE = 0x41100;
export const STATS_SLOTS = 64;
export const DYNAMIC_BASE = 0x42000;
export const WASM_PAGE = 65536;

// Header fields, as byte offsets from HEADER_BASE.
export const H_MAGIC = 0;
export const H_ABI = 4;
export const H_LAYOUT = 8;
export const H_STATE = 12; // HS_* below
export const H_TOTAL = 16; // bytes of memory the layout needs
export const H_CONFIG_VERSION = 20;
export const H_CLOCK = 24; // u64 nanoseconds, written by the host once per burst
export const H_REGION_COUNT = 32;
export const H_VERSION = 40; // u64, the last version handed to a write
export const H_REGIONS = 64; // REGION_COUNT pairs of (offset u32, size u32)

export const HS_EMPTY = 0;
export const HS_PLANNED = 1;
export const HS_READY = 2;

// Regions, in the order they are laid out.
export const R_CONFIG = 0;
export const R_STATS = 1;
export const R_RX = 2;
export const R_TX = 3;
export const R_DETECT = 4;
export const R_L1 = 5;
export const R_L2 = 6;
export const R_IO = 7;
export const REGION_COUNT = 8;

// Config fields, as byte offsets from CONFIG_BASE. The host writes them before plan().
export const C_SUPPORT = 0; // f64, s
export const C_EPSILON = 8; // f64, ε
export const C_WARM = 16; // f64, L2 admission threshold as a share of N
export const C_WINDOW = 24; // u64, decay period in weight units (0: no decay)
export const C_DETECT_CAPACITY = 32; // u32, 0: derive from ε and the window
export const C_L1_ENTRIES = 36; // u32
export const C_L1_BYTES = 40; // u32
export const C_L2_ENTRIES = 44; // u32
export const C_L2_SLOT_BYTES = 48; // u32, key plus reply bytes per L2 entry
export const C_BURST_MAX = 52; // u32
export const C_WEIGHTED = 56; // u32, 1: the descriptor's aux field is the observation's weight
export const C_SEED = 60; // u32

// A burst descriptor, in the rx ring (input) and the tx ring (result): four u32 fields.
export const DESC_BYTES = 16;
export const D_OFF = 0; // absolute address in linear memory
export const D_LEN = 4;
export const D_AUX = 8; // rx: weight; tx: reply address
export const D_FLAGS = 12; // rx: DK_* kind; tx: RF_* result flags, error code in bits 16..23

export const DK_KEY = 1; // count the key and look it up in L1/L2
export const DK_OBSERVE = 2; // count it only (a write's key: it heats the key but is never served)

export const RF_HOT = 1;
export const RF_TRACKED = 2;
export const RF_L1_HIT = 4;
export const RF_L2_HIT = 8;
export const RF_ERROR = 0x8000;

// Entry states, shared by the L1 table and the L2 skip list.
export const ST_FREE = 0;
export const ST_VALID = 1; // the reply may be served
export const ST_PENDING = 2; // a write is in flight: never serve, only its reply may refill
export const ST_INVALID = 3; // known key, no value

export const LAYER_NONE = 0;
export const LAYER_L1 = 1;
export const LAYER_L2 = 2;

export const MAX_KEY = 250;

// Error codes: negative return values, and the error field of a tx descriptor (negated).
export const E_CONFIG = -1;
export const E_MEMORY = -2;
export const E_NOT_READY = -3;
export const E_BURST = -4;
export const E_KEY = -5;
export const E_TOO_LARGE = -6;
export const E_NOT_FOUND = -7;
export const E_BOUNDS = -8;
export const E_WEIGHT = -9;
export const E_KIND = -10;
export const E_SNAP_MAGIC = -11;
export const E_SNAP_FORMAT = -12;
export const E_SNAP_CHECKSUM = -13;
export const E_SNAP_MALFORMED = -14;
export const E_SNAP_CAPACITY = -15;
export const E_IO = -16;
export const E_STATE_HEADER = -20;
export const E_STATE_DETECT = -21;
export const E_STATE_L1 = -22;
export const E_STATE_L2 = -23;

// Stats: u64 counters at STATS_BASE + 8 * index.
export const S_BURSTS = 0;
export const S_OBSERVED = 1;
export const S_WEIGHT = 2;
export const S_HOT = 3;
export const S_L1_HITS = 4;
export const S_L1_MISSES = 5;
export const S_L2_HITS = 6;
export const S_L2_MISSES = 7;
export const S_L1_EVICTIONS = 8;
export const S_L2_EVICTIONS = 9;
export const S_PROMOTIONS = 10;
export const S_DEMOTIONS = 11;
export const S_DETECT_PRUNED = 12;
export const S_DETECT_OVERFLOW = 13;
export const S_DETECT_DECAYS = 14;
export const S_DROP_KEY = 15;
export const S_DROP_BOUNDS = 16;
export const S_DROP_KIND = 17;
export const S_DROP_WEIGHT = 18;
export const S_BURST_REFUSED = 19;
export const S_RESTORES = 20;
export const S_RESTORE_REFUSED = 21;
export const S_WRITES_BEGUN = 22;
export const S_STALE_FILLS = 23;
export const STATS_USED = 24;
