// The core's ABI, read by both the AssemblyScript core and the TypeScript host.
// Only integer literals live here so that both compilers accept the file as is.

export const ABI_VERSION = 1;
export const LAYOUT_VERSION = 16;
export const SNAPSHOT_FORMAT = 2;
export const MAGIC = 0x424c564b; // "KVLB"
export const SNAPSHOT_MAGIC = 0x5353564b; // "KVSS"

// Everything below HEADER_BASE belongs to the module itself (static data, scratch heap), which
// instantiation may rewrite. State starts at HEADER_BASE.
export const HEADER_BASE = 0x40000;
export const HEADER_BYTES = 0x1000;
export const CONFIG_BASE = 0x41000;
export const CONFIG_BYTES = 0x100;
export const STATS_BASE = 0x41100;
export const STATS_SLOTS = 128;
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
export const H_OUT_COUNT = 48; // u32, datagrams the last process()/tick() queued in the out ring
export const H_NAT_NEXT = 52; // u32, the head of the NAT free ring
export const H_NAT_USED = 56; // u32, NAT entries in use
export const H_TX_USED = 60; // u32, bytes of R_TXBUF used since the last process()
export const H_FTX_COUNT = 36; // u32, frames the last process*()/tick() queued in R_FTX
export const H_REGIONS = 64; // REGION_COUNT pairs of (offset u32, size u32)
export const H_PEER_OUT = 1024; // u32, write events queued in R_PEER's out list since the host took them
export const H_PURGED = 1032; // u64, the version of the last purge: no read forwarded before it may fill
export const H_ADAPT_AT = 1040; // u64, the clock of the hot set's last adaptation (cache/admission.ts)
export const H_STREAM_OWED = 1048; // u32, connections' done markers the out ring had no room for (proxy/stream-refs.ts)
export const H_STREAM_RUN_CONN = 1052; // u32, the connection of the request whose handler runs (0: none)
export const H_STREAM_RUN_SEQ = 1056; // u32, its sequence number
export const H_STREAM_RUN_TABLED = 1060; // u32, 1 once something else holds it too (it is in R_STREAMS)

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
export const R_ROUTE = 8; // backend table and ketama ring
export const R_NAT = 9; // request-id NAT table
export const R_BARRIER = 10; // write barrier buckets
export const R_PKT = 11; // rx datagram slots
export const R_OUT = 12; // out descriptors
export const R_TXBUF = 13; // datagrams the core builds (cache hits, split requests, errors)
export const R_UMEM = 14; // AF_XDP frames, C_FRAMES of C_FRAME_BYTES, page-aligned
export const R_FPOOL = 15; // free frames: u32 count, u32 capacity, u32 frame offsets
export const R_FRAME = 16; // the frame layer: ports, neighbours, frames held in a burst
export const R_FTX = 17; // frames to transmit: struct xdp_desc, options = port
export const R_PEER = 18; // write events to and from the other workers: out list, then in list
export const R_CLIENTS = 19; // who may be answered: the allow-list, kvlb's own addresses, per-client reply budgets
export const R_REPLICAS = 20; // hot keys' replica sets: the servers that hold a copy, and which copies are current
export const R_PARKED = 21; // gets of cached keys waiting for the write in flight on their key (proxy/parked-reads.ts)
export const R_STREAMS = 22; // stream requests in flight, with what still answers them (proxy/stream-refs.ts)
export const R_PLACES = 23; // places in their replies of keys of connections' gets sent over UDP (proxy/key-places.ts)
export const R_MIGRATE = 24; // a live migration: the ring before the reload, and the keys of gets whose miss goes on to it (proxy/migrate.ts)
export const REGION_COUNT = 25;

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
export const C_RX_SLOTS = 64; // u32, datagram slots in R_PKT
export const C_SLOT_BYTES = 68; // u32, bytes per slot (a larger datagram is dropped as too large)
export const C_OUT_MAX = 72; // u32, out descriptors per burst
export const C_TXBUF_BYTES = 76; // u32
export const C_NAT_ENTRIES = 80; // u32, a power of two up to 65536
export const C_NAT_TIMEOUT_MS = 84; // u32
export const C_BARRIER_BUCKETS = 88; // u32, a power of two
export const C_FRAMES = 92; // u32, AF_XDP frames in R_UMEM (0: no frame layer)
export const C_FRAME_BYTES = 96; // u32, 2048 or 4096
export const C_LISTEN_ADDR = 100; // u32, the balancer's IPv4 address (network order); 0: any
export const C_LISTEN_PORT = 104; // u32, the balancer's port
export const C_BACKEND_PORT = 108; // u32, the source port of frames sent to backends
export const C_PEER_EVENTS = 112; // u32, room in each R_PEER list (0: this core is the only worker)
export const C_FRAME_MODE = 116; // u32, FM_* flags
export const C_SOCKET_WHOLE_MAX = 120; // u32, see FM_KERNEL_SEES_FRAMES
export const C_FAILOVER = 124; // u32, 1: a down backend's keys go to the next server up on the ring; 0: SERVER_ERROR
export const C_CLIENT_SLOTS = 128; // u32, per-client reply budgets tracked (a power of two)
export const C_REPLY_RATIO = 132; // u32, reply bytes a client earns per request byte (0: no budget)
export const C_REPLY_PER_SECOND = 136; // u32, reply bytes a client earns per second, and its burst
export const C_ADAPT_MS = 140; // u32, how often the hot set adapts to the backends' loads
export const C_IMBALANCE = 144; // f64, the bound on max/mean backend load the hot set keeps (0: fixed thresholds)
export const C_REPLICA_KEYS = 152; // u32, hot keys that may have a replica set at once (power of two; 0: no replication)
export const C_WORKER = 156; // u32, this worker's index among the workers: its replica copies' names carry it
export const C_BACKEND_STREAMS = 160; // u32, 1: the host reaches the backends over TCP, so a request may exceed a datagram

// Frame modes. Backend replies reach this worker through its kernel socket, not as frames (several
// workers, where a reply may land on another worker's queue).
export const FM_REPLIES_VIA_KERNEL = 1;
// The kernel sees every frame too (af_packet): a request on the listening socket no longer than
// C_SOCKET_WHOLE_MAX arrived whole, so the frame path already has it.
export const FM_KERNEL_SEES_FRAMES = 2;

// No kernel serves the ports (a NIC bound to DPDK): the core answers ARP for the ports'
// addresses, and asks for the backends'.
export const FM_ANSWER_ARP = 4;

// A tracked key, in every detector's table and in detect_report's output: three u64 fields.
export const TRACKED_BYTES = 24;
export const TK_HASH = 0;
export const TK_F = 8; // the estimate f
export const TK_DELTA = 16; // Δ, the most f may overestimate

// A hot key, as hot_keys() writes them into R_IO, warmest first: fixed-size records.
export const HOT_KEY_BYTES = 272;
export const HK_ESTIMATE = 0; // u64, the detector's estimate
export const HK_LAYER = 8; // u32, LAYER_L1 or LAYER_L2
export const HK_KEY_LEN = 12; // u32
export const HK_KEY = 16; // the key, up to 250 bytes

// A write event: u64 key hash, u32 PE_*, u32 pad.
export const PEER_EVENT_BYTES = 16;
export const PV_HASH = 0;
export const PV_KIND = 8;
export const PE_BEGIN = 1;
export const PE_END = 2;
export const PE_PURGE = 3; // an admin client's flush_all: every worker empties its caches (hash unused)
// A live migration's copy of a moved key to its new owner began or ended (proxy/migrate.ts): every
// worker holds back a delete of the key's bucket meanwhile, whichever worker took the delete.
export const PE_COPY_BEGIN = 4;
export const PE_COPY_END = 5;

// The frame region: a control block, the port table, the neighbour table, the held list.
export const FR_PORTS = 0; // u32, ports (AF_XDP sockets) in the table
export const FR_HELD = 4; // u32, frames held in the current burst
export const FR_IP_ID = 8; // u32, the next IPv4 identification
export const FR_PORT_TABLE = 64;
export const MAX_FRAME_PORTS = 8;
export const PORT_BYTES = 16; // mac[6], pad[2], IPv4 u32 (network order), ifindex u32
export const P_MAC = 0;
export const P_ADDR = 8;
export const P_IFINDEX = 12;
export const FR_NEIGH = 192;
export const NEIGH_SLOTS = 1024; // a power of two
export const NEIGH_BYTES = 16; // IPv4 u32, mac[6], port u8, state u8, vlan u16, pad[2]
export const NB_ADDR = 0;
export const NB_MAC = 4;
export const NB_PORT = 10;
export const NB_STATE = 11;
export const NB_VLAN = 12;
export const NBS_FREE = 0;
export const NBS_LEARNED = 1; // from a client's frame
export const NBS_STATIC = 2; // from the host (the kernel's neighbour table)
export const FR_HELD_LIST = 16576; // FR_NEIGH + NEIGH_SLOTS * NEIGH_BYTES; then u8 state per frame
export const FRAME_HEADROOM = 64; // where the core starts a datagram it builds in a frame

// The clients region: the allow-list, kvlb's own addresses, then the budget slots.
export const CL_ALLOW_COUNT = 0; // u32
export const CL_OWN_COUNT = 4; // u32
export const CL_ALLOW = 16; // MAX_ALLOW pairs of (network u32, mask u32), as sin_addr reads
export const MAX_ALLOW = 32;
export const CL_OWN = 272; // MAX_OWN addresses of kvlb's own (u32)
export const MAX_OWN = 32;
export const CL_ADMIN_COUNT = 8; // u32
export const CL_ADMIN = 400; // MAX_ADMIN pairs of (network u32, mask u32): whose flush_all reaches every backend
export const MAX_ADMIN = 8;
export const CL_SLOTS = 464; // C_CLIENT_SLOTS of CLIENT_SLOT_BYTES
export const CLIENT_SLOT_BYTES = 24; // addr u32, pad u32, tokens i64, refilled-at u64

// The route region: a control block, the backend table and the ring.
export const RT_COUNT = 0; // u32, backends
export const RT_POINTS = 4; // u32, points on the ring
export const RT_ACTIVE = 8; // u32, backends on the ring (the others are retired)
export const ROUTE_BACKENDS = 512;
export const MAX_BACKENDS = 64;
export const BACKEND_BYTES = 160;
export const ROUTE_RING = 10752; // ROUTE_BACKENDS + MAX_BACKENDS * BACKEND_BYTES
export const MAX_POINTS = 10240; // 160 per server
export const ROUTE_BYTES = 92672; // ROUTE_RING + MAX_POINTS * 8
// A backend entry: the host writes the first five fields, the core the counters.
export const B_ADDR = 0; // u32, IPv4 address as it sits in sockaddr_in (network order)
export const B_PORT = 4; // u16
export const B_WEIGHT = 8; // u32
export const B_NAME_LEN = 12; // u8
export const B_NAME = 16; // up to 64 bytes: the host string ketama hashes
export const B_REQUESTS = 80; // u64
export const B_REPLIES = 88; // u64, requests answered
export const B_TIMEOUTS = 96; // u64
export const B_OUTSTANDING = 104; // u32
export const B_STATE = 108; // u32, BK_*: written by the host (health checks), obeyed by the core
export const B_FAILS = 112; // u32, requests timed out in a row (a reply resets it)
// The adaptive hot set (cache/admission.ts), kept by the core:
export const B_ADMIT = 120; // f64, the share of the warm threshold this backend's keys must reach to enter L2
export const B_ADAPT_MARK = 128; // u64, B_REQUESTS at the last adaptation
export const B_CALM = 136; // u32, adaptations in a row that found this backend under the mean
// The health probe the core sends where no kernel reaches the backends (proxy/probe.ts):
export const B_PROBES = 140; // u32, probes answered; the three below are the last answer's
export const B_PROBE_PID = 144; // u32, memcached's pid
export const B_PROBE_UPTIME = 148; // u32, its uptime in seconds
export const B_PROBE_FLUSHES = 152; // u32, its cmd_flush
export const B_PROBE_WANTED = 156; // u32, 1: the host asked for a probe, sent at the next tick
export const BK_UP = 0;
export const BK_DOWN = 1;
// Off the ring since a reload, kept so that the replies to the requests in flight to it are
// still taken; the host reuses the entry once none is.
export const BK_RETIRED = 2;

// A burst descriptor, in the rx ring (input) and the tx ring (result): four u32 fields.
export const DESC_BYTES = 16;
export const D_OFF = 0; // absolute address in linear memory
export const D_LEN = 4;
export const D_AUX = 8; // rx: weight; tx: reply address
export const D_FLAGS = 12; // rx: DK_* kind; tx: RF_* result flags, error code in bits 16..23

// A frame descriptor, in R_RX (frames received) and R_FTX (frames to send): struct xdp_desc,
// so that the AF_XDP rings' entries copy in and out as they are; the port rides in options.
export const XDESC_BYTES = 16;
export const XD_ADDR = 0; // u64, the frame's offset in the UMEM
export const XD_LEN = 8;
export const XD_PORT = 12;

export const DK_KEY = 1; // count the key and look it up in L1/L2
export const DK_OBSERVE = 2; // count it only (a write's key: it heats the key but is never served)
// Datagram kinds: aux is the peer's IPv4 address, the flags' top half its port.
export const DK_CLIENT = 3; // a request from a client
export const DK_BACKEND = 4; // a reply from a backend
export const RXF_TRUNC = 0x100; // the datagram was larger than its slot
// A connection's bytes not yet taken (TCP): aux is the connection's id (never 0), the flags'
// top half the sequence number of its next request. The result: D_LEN bytes taken (more than
// were given when a request too large is to be skipped as it arrives), D_AUX requests taken,
// RF_CLOSE when the connection is to be closed once what was queued for it is sent.
export const DK_STREAM = 5;
export const RXF_ADMIN = 0x200; // the connection's peer is in admin.clients: it may send flush_all
export const RF_CLOSE = 0x10;
export const RF_AGAIN = 0x20; // whole requests are left that it had no room for: pass the bytes again

// Out descriptors (R_OUT): address, length, peer IPv4, flags = OUT_* | port << 16.
export const OUT_CLIENT = 0; // send from the listening socket
export const OUT_BACKEND = 1; // send from the backend socket
// To a connection (aux: its id, port: the request's sequence number): the payload after the
// 8-byte memcached frame header, which carries the sequence number too.
export const OUT_STREAM = 2;
// Empty: the request (aux, port) has all its reply; the next one's may follow.
export const OUT_STREAM_DONE = 3;

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
export const S_CLIENT_DATAGRAMS = 24;
export const S_BACKEND_DATAGRAMS = 25;
export const S_DROP_FRAME = 26; // short header or total != 1
export const S_DROP_TOO_LARGE = 27;
export const S_CLIENT_ERRORS = 28; // answered CLIENT_ERROR (bad key, bad line)
export const S_UNKNOWN_COMMANDS = 29; // answered ERROR
export const S_NAT_OVERFLOW = 30;
export const S_NAT_TIMEOUTS = 31;
export const S_DROP_STRAY = 32; // a reply with an unknown request id or source
export const S_CACHE_REPLIES = 33; // keys answered from L1/L2
export const S_FORWARDED = 34; // datagrams sent to backends
export const S_DROP_OUT_FULL = 35; // the out ring or tx buffer was full
export const S_FILLS = 36; // values taken into a cache from a reply
export const S_WRITES_DONE = 37;
export const S_NO_BACKEND = 38;
export const S_KEYS = 39; // keys requested by clients
export const S_DROP_INCOMPLETE = 40; // a request without its line end
export const S_FRAME_RESERVED = 41; // served, but the reserved field was not zero
export const S_FRAMES_RX = 42; // Ethernet frames received
export const S_FRAMES_TX = 43; // Ethernet frames queued to send
export const S_FRAME_MALFORMED = 44; // bad Ethernet/IPv4/UDP headers or lengths
export const S_FRAME_BAD_CHECKSUM = 45; // IPv4 header checksum
export const S_FRAME_NOT_OURS = 46; // neither to the balancer's address and port nor from a backend
export const S_FRAME_IPV6 = 47; // IPv6 is served on the socket path only
export const S_FRAME_NO_NEIGH = 48; // no next hop known: sent through the kernel instead
export const S_FRAME_POOL_EMPTY = 49; // no free frame to build a datagram in
export const S_FRAME_VIA_SOCKET = 50; // too large for one frame: sent through the kernel
export const S_PEER_EVENTS_OUT = 51; // write events told to the other workers
export const S_PEER_EVENTS_IN = 52; // write events the other workers told this one
export const S_PEER_OVERFLOW = 53; // write events with no room in the out list: 0, since a write begins only with room for its events
export const S_FRAME_REPLY_VIA_KERNEL = 54; // backend replies seen as frames, taken from the kernel socket instead
export const S_SOCKET_DUPLICATE = 55; // requests the kernel socket saw that the frame path serves
export const S_ARP_ANSWERED = 56; // ARP requests for a port's address answered (FM_ANSWER_ARP)
export const S_ARP_LEARNED = 57; // next hops learned from ARP
export const S_ARP_ASKED = 58; // ARP requests sent for the backends
export const S_REFUSED_COMMANDS = 59; // whole-server commands (flush_all, stats, ...) refused in any protocol
export const S_LATE_REPLIES = 60; // a backend reply whose request had already timed out: dropped
export const S_SERVER_ERRORS = 61; // requests answered with a server error (timeout, overload, no backend)
export const S_EXPIRED = 62; // cached copies dropped because their item's expiry came
export const S_FILL_REQUESTS = 63; // mg requests kvlb sent to learn a value and its remaining TTL
export const S_FAILOVERS = 64; // requests sent to the next server up because their own is down
export const S_PURGED = 65; // cached copies dropped by a purge (a backend down, restarted or flushed; kvlb flush)
export const S_DROP_NOT_ALLOWED = 66; // datagrams from a source outside clients.allow
export const S_DROP_REFLECTED = 67; // datagrams from kvlb's own endpoints or a backend's, to the client port
export const S_DROP_BUDGET = 68; // requests and replies over their client's reply budget
export const S_ADMIT_WIDER = 69; // adaptations that let a backend's cooler keys into L2 (it was over the bound)
export const S_ADMIT_NARROWER = 70; // adaptations that raised a calm backend's bar again
export const S_REPLICA_SETS = 71; // hot keys given a replica set
export const S_REPLICA_DROPS = 72; // replica sets dropped because their key cooled
export const S_REPLICA_COPIES = 73; // copies written to replica servers (each ms kvlb sent)
export const S_REPLICA_READS = 74; // gets sent to a replica server rather than the key's own
export const S_REPLICA_FALLBACKS = 75; // gets a replica answered with a miss, sent on to the key's own server
export const S_REPLICA_FILLS = 76; // fills begun: kvlb's mg of a replicated key's value from its own server
export const S_REPLICA_FANOUTS = 77; // clients' sets whose value kvlb also wrote to the key's copies
export const S_READS_PARKED = 78; // gets held back while a write of their cached key was in flight
export const S_PARKED_FROM_CACHE = 79; // of those, answered from the cache once the write was answered
export const S_STREAM_REQUESTS = 80; // requests taken from connections' byte streams
export const S_STREAM_CLOSED = 81; // connections closed for a request kvlb cannot frame
export const S_MIGRATE_FALLBACKS = 82; // gets of moved keys that the new owner missed, sent on to the old
export const S_MIGRATE_READS = 83; // kvlb's mg of a moved key's value and TTL from its old owner
export const S_MIGRATE_COPIES = 84; // copies of moved keys the new owner stored (ms in add mode)
export const S_MIGRATE_NOT_COPIED = 85; // copies the new owner did not store: it had the key already, or they went unanswered
export const S_MIGRATE_OLD_DELETES = 86; // deletes kvlb sent to a moved key's old owner after a client's write of it
export const S_MIGRATE_BUSY = 87; // deletes of a moved key answered SERVER_ERROR while a copy of it was in flight
export const S_MIGRATE_RETRIES = 88; // gets of moved keys asked again of the new owner: a write of the key overlapped them
export const STATS_USED = 89;

// A replica set (R_REPLICAS, cache/replicas.ts): the region starts with RPC_BYTES of control,
// then C_REPLICA_KEYS entries of RP_BYTES, open-addressed by key hash.
export const RPC_COUNT = 0; // u32, sets in use
export const RPC_BYTES = 64;
export const RP_BYTES = 352;
export const RP_HASH = 0; // u64
export const RP_STAMP = 8; // u64, the version the copies hold: the read stamp of the fill's mg
export const RP_UNTIL = 16; // u64, clock until which the copies may be served (the item's expiry bound)
export const RP_FILL_AT = 24; // u64, clock when the fill in flight began (0: none)
export const RP_HOLD = 32; // u64, clock until which no fill begins (a copy's write went unanswered)
export const RP_STATE = 40; // u8, 0 free, 1 in use
export const RP_COUNT = 41; // u8, servers in the set, the key's own first
export const RP_VALID = 42; // u8, bit i: server i holds the value of version RP_STAMP
export const RP_WRITING = 43; // u8, copies written and not yet answered
export const RP_OK = 44; // u8, bit i: server i stored the copy of the fill in flight
export const RP_NEXT = 45; // u8, where the next tie among equally busy servers starts
export const RP_KEY_LEN = 46; // u16
export const RP_SERVERS = 48; // u8 × MAX_REPLICAS, backend indices
export const RP_FILL_UNTIL = 56; // u64, the expiry bound of the value the fill in flight writes
export const RP_FAN_VERSION = 64; // u64, the version of the set whose value is being written to the copies too (0: none)
export const RP_FAN_UNTIL = 72; // u64, the expiry bound of that value
export const RP_FAN_STAMP = 80; // u64, the key's bucket version once that set was answered
export const RP_FAN_LEFT = 88; // u8, its copies' writes not yet answered
export const RP_FAN_OK = 89; // u8, bit i: server i stored its copy
export const RP_FAN_HOME = 90; // u8, the key's own server: 0 not yet answered, 1 stored (alone), 2 not
export const RP_KEY = 96; // the key, up to MAX_KEY bytes
export const MAX_REPLICAS = 8; // servers in a set, the key's own included

// A live migration (R_MIGRATE, proxy/migrate.ts): a control block, the ring as it was before the
// reload (the route region's layout of (value << 32 | backend) u64s), one request slot per NAT
// entry for a read whose miss goes on to the key's old owner, then the mover's pending keys.
export const MG_ACTIVE = 0; // u32, 1 while a window is open
export const MG_POINTS = 4; // u32, points on the old ring
export const MG_UNTIL = 8; // u64, clock when the window closes
export const MG_PENDING_LEN = 16; // u32, bytes of the mover's keys waiting for the next tick
export const MG_RING = 64;
export const MG_KEYS = 81984; // MG_RING + MAX_POINTS * 8
export const MG_KEY_BYTES = 320; // a request slot: u8 old owner, u8 form, u16 length, the request
export const MG_KEY_OWNER = 0;
export const MG_KEY_FORM = 1; // MF_*: how the request is written, which says where its key is
export const MG_REQ_LEN = 2;
export const MG_REQ = 4; // the request as the new owner got it, sent again to the old one
export const MG_REQ_MAX = 316;
export const MF_TEXT = 0; // get|gets <key>\r\n, gat|gats <exptime> <key>\r\n: the key last
export const MF_MG = 2; // mg <key> <flags>*\r\n, its key not in base64
export const MF_BINARY = 3; // a binary get, getk (a quiet one made loud)
// After the key slots: the mover's keys waiting for the next tick, as (u8 length, key) records.
export const MG_PENDING_BYTES = 65536;

// A parked get (R_PARKED, proxy/parked-reads.ts): the region starts with PKC_BYTES of control,
// then PARKED_READS entries of PK_BYTES.
export const PARKED_READS = 256;
export const PKC_COUNT = 0; // u32, entries in use
export const PKC_BYTES = 64;
export const PK_BYTES = 288;
export const PK_HASH = 0; // u64
export const PK_AT = 8; // u64, clock when the get was parked
export const PK_ADDR = 16; // u32, the client's address
export const PK_PORT = 20; // u16
export const PK_ID = 22; // u16, the client's request id
export const PK_KEY_LEN = 24; // u16, 0: the entry is free
export const PK_ASKED = 26; // u8, 1 once it has waited for kvlb's own ask of the value
export const PK_KEY = 32; // the key, up to MAX_KEY bytes
