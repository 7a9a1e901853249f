import * as abi from "../../assembly/abi/abi.js";

// The core's tunables, with the defaults of the reference design (docs/detector.md).
export interface CoreConfig {
  /** Support s: a key is hot when its estimate is at least (s - ε)·N. */
  support: number;
  /** Error ε of lossy counting; the bucket width is ceil(1/ε). */
  epsilon: number;
  /** Share of N from which a key counts as warm and may enter L2. */
  warm: number;
  /** Decay period in weight units: every `window`, counts and N halve. 0 turns decay off. */
  window: number;
  /** Detector entries; 0 derives the lossy-counting bound from ε and the window. */
  detectCapacity: number;
  l1Entries: number;
  l1Bytes: number;
  l2Entries: number;
  /** Bytes per L2 entry for its key and reply; larger replies skip L2. */
  l2SlotBytes: number;
  burstMax: number;
  /** Each observation carries its weight (bytes or cost) in the descriptor. */
  weighted: boolean;
  seed: number;
  /** Datagram slots for the socket data path (half for clients, half for backends). */
  rxSlots: number;
  /** Bytes per datagram slot; a larger datagram is dropped and counted. */
  slotBytes: number;
  /** Datagrams the core may queue per burst. */
  outMax: number;
  /** Bytes for the datagrams the core builds in one burst. */
  txBytes: number;
  /** Requests in flight to backends (request ids): a power of two up to 65536. */
  natEntries: number;
  /** A request no backend answered within this many milliseconds is counted as a timeout. */
  natTimeoutMs: number;
  /** Write-barrier buckets: a power of two. */
  barrierBuckets: number;
  /** AF_XDP frames in the core's UMEM; 0 leaves the frame layer out. */
  frames: number;
  /** Bytes per AF_XDP frame: 2048 or 4096. */
  frameBytes: number;
  /** Room for write events to and from the other workers; 0 when this core is the only one. */
  peerEvents: number;
  /** A down backend's keys go to the next server up on the ring (true) or get SERVER_ERROR. */
  failover: boolean;
  /** Sources whose reply budgets are tracked at once: a power of two. */
  clientSlots: number;
  /** Reply bytes a source earns per request byte it sends; 0 turns the budget off. */
  replyRatio: number;
  /** Reply bytes a source earns per second, and banks at most. */
  replyBytesPerSecond: number;
  /** The bound on the busiest backend's load over the mean that the hot set adapts to keep;
   * 0 keeps the fixed thresholds (support, warm). */
  imbalance: number;
  /** How often, in milliseconds, the hot set looks at the backends' loads. */
  adaptMs: number;
  /** Hot keys that may have a replica set at once: a power of two up to 4096; 0 turns replication off. */
  replicaKeys: number;
  /** This worker's index among the workers; its replica copies' names carry it. */
  worker: number;
  /** The host reaches the backends over TCP (tcp.backends): a request may exceed a datagram. */
  backendStreams: boolean;
}

/** How a field is stored in the core's config block. */
export type FieldType = "f64" | "u64" | "u32" | "bool";

/** A number's JSON schema in kvlb.yaml (ajv); the file's loader adds `nullable`. */
export interface NumberSchema {
  type: "number" | "integer";
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

export interface ConfigField {
  key: keyof CoreConfig;
  /** The ABI's C_* byte offset from CONFIG_BASE. */
  offset: number;
  type: FieldType;
  default: number | boolean;
  /** Where kvlb.yaml sets it, as "section.name"; absent for what the file does not set directly. */
  file?: `${FileSectionName}.${string}`;
  /** What kvlb.yaml accepts there. */
  schema?: NumberSchema;
}

/** The sections of kvlb.yaml that set core fields. */
export type FileSectionName = "detector" | "cache" | "requests" | "clients";

const whole = { type: "integer", minimum: 0 } as const;

/**
 * Every core config field once: its ABI offset, how it is stored, its default, and where
 * kvlb.yaml sets it with what it accepts there. The loader writes the config block from this
 * table, the defaults come from it, and so do the config file's schema (config/schema.ts) and
 * its reading (config/run-config.ts); test/unit/config-fields.test.ts checks it against every
 * C_* constant of the ABI.
 */
export const coreConfigFields = [
  {
    key: "support",
    offset: abi.C_SUPPORT,
    type: "f64",
    default: 0.2,
    file: "detector.support",
    schema: { type: "number", exclusiveMinimum: 0, maximum: 1 },
  },
  {
    key: "epsilon",
    offset: abi.C_EPSILON,
    type: "f64",
    // fine enough that the hot set can reach keys of a ten-thousandth of the traffic
    default: 0.0001,
    file: "detector.epsilon",
    schema: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1 },
  },
  {
    key: "warm",
    offset: abi.C_WARM,
    type: "f64",
    default: 0.01,
    file: "detector.warm",
    schema: { type: "number", minimum: 0, maximum: 1 },
  },
  { key: "window", offset: abi.C_WINDOW, type: "u64", default: 1 << 20, file: "detector.window", schema: whole },
  {
    key: "detectCapacity",
    offset: abi.C_DETECT_CAPACITY,
    type: "u32",
    default: 0,
    file: "detector.capacity",
    schema: whole,
  },
  { key: "l1Entries", offset: abi.C_L1_ENTRIES, type: "u32", default: 1024, file: "cache.l1Entries", schema: whole },
  { key: "l1Bytes", offset: abi.C_L1_BYTES, type: "u32", default: 4 << 20, file: "cache.l1Bytes", schema: whole },
  { key: "l2Entries", offset: abi.C_L2_ENTRIES, type: "u32", default: 4096, file: "cache.l2Entries", schema: whole },
  {
    key: "l2SlotBytes",
    offset: abi.C_L2_SLOT_BYTES,
    type: "u32",
    default: 1024,
    file: "cache.l2SlotBytes",
    schema: whole,
  },
  { key: "burstMax", offset: abi.C_BURST_MAX, type: "u32", default: 256 },
  { key: "weighted", offset: abi.C_WEIGHTED, type: "bool", default: false },
  { key: "seed", offset: abi.C_SEED, type: "u32", default: 0x9e3779b9 },
  { key: "rxSlots", offset: abi.C_RX_SLOTS, type: "u32", default: 128 },
  { key: "slotBytes", offset: abi.C_SLOT_BYTES, type: "u32", default: 65536 },
  { key: "outMax", offset: abi.C_OUT_MAX, type: "u32", default: 2048 },
  { key: "txBytes", offset: abi.C_TXBUF_BYTES, type: "u32", default: 2 << 20 },
  {
    key: "natEntries",
    offset: abi.C_NAT_ENTRIES,
    type: "u32",
    default: 8192,
    file: "requests.natEntries",
    schema: { type: "integer", minimum: 16, maximum: 65536 },
  },
  {
    key: "natTimeoutMs",
    offset: abi.C_NAT_TIMEOUT_MS,
    type: "u32",
    default: 1000,
    file: "requests.timeoutMs",
    schema: { type: "integer", minimum: 1 },
  },
  { key: "barrierBuckets", offset: abi.C_BARRIER_BUCKETS, type: "u32", default: 16384 },
  { key: "frames", offset: abi.C_FRAMES, type: "u32", default: 0 },
  { key: "frameBytes", offset: abi.C_FRAME_BYTES, type: "u32", default: 2048 },
  { key: "peerEvents", offset: abi.C_PEER_EVENTS, type: "u32", default: 0 },
  // set from health.onDown (failover or fail), not a field of its own in the file
  { key: "failover", offset: abi.C_FAILOVER, type: "bool", default: true },
  {
    key: "clientSlots",
    offset: abi.C_CLIENT_SLOTS,
    type: "u32",
    default: 4096,
    file: "clients.budgetSlots",
    schema: whole,
  },
  {
    key: "replyRatio",
    offset: abi.C_REPLY_RATIO,
    type: "u32",
    default: 100,
    file: "clients.replyRatio",
    schema: whole,
  },
  {
    key: "replyBytesPerSecond",
    offset: abi.C_REPLY_PER_SECOND,
    type: "u32",
    default: 65536,
    file: "clients.replyBytesPerSecond",
    schema: whole,
  },
  {
    key: "imbalance",
    offset: abi.C_IMBALANCE,
    type: "f64",
    default: 1.1,
    file: "detector.imbalance",
    schema: { type: "number", minimum: 0 },
  },
  {
    key: "adaptMs",
    offset: abi.C_ADAPT_MS,
    type: "u32",
    default: 250,
    file: "detector.adaptMs",
    schema: { type: "integer", minimum: 10 },
  },
  {
    key: "replicaKeys",
    offset: abi.C_REPLICA_KEYS,
    type: "u32",
    default: 64,
    file: "cache.replicaKeys",
    schema: { type: "integer", minimum: 0, maximum: 4096 },
  },
  { key: "worker", offset: abi.C_WORKER, type: "u32", default: 0 },
  // set from tcp.backends, not a field of its own in the file
  { key: "backendStreams", offset: abi.C_BACKEND_STREAMS, type: "bool", default: false },
] as const satisfies readonly ConfigField[];

type Field = (typeof coreConfigFields)[number];

/** The core settings of one kvlb.yaml section, as the table names them. */
export type FileSection<S extends FileSectionName> = {
  [F in Field as F extends { file: `${S}.${infer Name}` } ? Name : never]?: number;
};

/** The fields kvlb.yaml sets, with their section and name split. */
export const fileSettings: readonly {
  key: keyof CoreConfig;
  section: FileSectionName;
  name: string;
  schema: NumberSchema;
}[] = coreConfigFields.flatMap((f: ConfigField) => {
  if (f.file === undefined || f.schema === undefined) return [];
  const [section, name] = f.file.split(".") as [FileSectionName, string];
  return [{ key: f.key, section, name, schema: f.schema }];
});

/**
 * The config block's other fields, which describe where the core runs rather than how it is
 * tuned: the host writes them after init (core/frame-tables.ts).
 */
export const setUpOffsets: readonly number[] = [
  abi.C_LISTEN_ADDR,
  abi.C_LISTEN_PORT,
  abi.C_BACKEND_PORT,
  abi.C_FRAME_MODE,
  abi.C_SOCKET_WHOLE_MAX,
];

export const defaultCoreConfig: Readonly<CoreConfig> = Object.freeze(
  Object.fromEntries(coreConfigFields.map((f: ConfigField) => [f.key, f.default])) as unknown as CoreConfig,
);

/** Writes the config block that plan() reads. */
export function writeConfigBlock(memory: WebAssembly.Memory, c: CoreConfig): void {
  writeFields(memory, coreConfigFields as readonly ConfigField[], c);
}

/** The settings a reload changes in a running core: the core reads them as it goes, where the
 * others size its memory or are taken once at its start. */
export const liveConfigKeys = [
  "natTimeoutMs",
  "failover",
  "imbalance",
  "adaptMs",
  "replyRatio",
  "replyBytesPerSecond",
] as const;
export type LiveConfig = Pick<CoreConfig, (typeof liveConfigKeys)[number]>;

export function liveConfig(c: CoreConfig): LiveConfig {
  return Object.fromEntries(liveConfigKeys.map((k) => [k, c[k]])) as unknown as LiveConfig;
}

/** Writes the live settings into a running core's config block. */
export function setLiveSettings(core: { memory: WebAssembly.Memory }, c: LiveConfig): void {
  const live: readonly string[] = liveConfigKeys;
  writeFields(
    core.memory,
    (coreConfigFields as readonly ConfigField[]).filter((f) => live.includes(f.key)),
    c as unknown as CoreConfig,
  );
}

function writeFields(memory: WebAssembly.Memory, fields: readonly ConfigField[], c: CoreConfig): void {
  const view = new DataView(memory.buffer, abi.CONFIG_BASE, abi.CONFIG_BYTES);
  for (const f of fields) {
    const v = c[f.key];
    if (f.type === "f64") view.setFloat64(f.offset, Number(v), true);
    else if (f.type === "u64") view.setBigUint64(f.offset, BigInt(Number(v)), true);
    else if (f.type === "bool") view.setUint32(f.offset, v ? 1 : 0, true);
    else view.setUint32(f.offset, Number(v) >>> 0, true);
  }
}

export function withDefaults(partial: Partial<CoreConfig> = {}): CoreConfig {
  return { ...defaultCoreConfig, ...partial };
}

// Range checks the core also makes, here with a sentence an operator can act on.
export function describeConfigError(c: CoreConfig): string | undefined {
  if (!(c.epsilon > 0 && c.epsilon < 1)) return `epsilon ${c.epsilon}: must be between 0 and 1`;
  if (!(c.support > c.epsilon && c.support <= 1)) {
    return `support ${c.support}: must be above epsilon (${c.epsilon}) and at most 1`;
  }
  if (!(c.warm >= 0 && c.warm <= 1)) return `warm ${c.warm}: must be between 0 and 1`;
  if (!Number.isInteger(c.burstMax) || c.burstMax < 1 || c.burstMax > 65536) {
    return `burstMax ${c.burstMax}: must be an integer from 1 to 65536`;
  }
  if (c.l2Entries > 0 && c.l2SlotBytes < 258) {
    return `l2SlotBytes ${c.l2SlotBytes}: must hold a 250-byte key plus a reply (at least 258)`;
  }
  for (const k of ["window", "detectCapacity", "l1Entries", "l1Bytes", "l2Entries", "l2SlotBytes"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0) return `${k} ${c[k]}: must be a whole number`;
  }
  const pow2 = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(c.natEntries) || c.natEntries < 16 || c.natEntries > 65536) {
    return `natEntries ${c.natEntries}: must be a power of two from 16 to 65536`;
  }
  if (!pow2(c.barrierBuckets)) return `barrierBuckets ${c.barrierBuckets}: must be a power of two`;
  if (!pow2(c.clientSlots) || c.clientSlots > 1 << 20) {
    return `clients.budgetSlots ${c.clientSlots}: must be a power of two up to 1048576`;
  }
  if (c.rxSlots > c.burstMax) return `rxSlots ${c.rxSlots}: must not exceed burstMax (${c.burstMax})`;
  if (c.rxSlots > 0 && !(c.slotBytes >= 64 && c.slotBytes <= 65536)) {
    return `slotBytes ${c.slotBytes}: must be from 64 to 65536`;
  }
  if (!(c.natTimeoutMs >= 1)) return `natTimeoutMs ${c.natTimeoutMs}: must be at least 1`;
  if (!(c.imbalance === 0 || c.imbalance >= 1)) {
    return `imbalance ${c.imbalance}: the busiest backend's load over the mean, at least 1 (or 0 for fixed thresholds)`;
  }
  if (!Number.isInteger(c.adaptMs) || c.adaptMs < 1)
    return `adaptMs ${c.adaptMs}: must be a whole number of milliseconds`;
  if (c.replicaKeys !== 0 && (!pow2(c.replicaKeys) || c.replicaKeys > 4096)) {
    return `cache.replicaKeys ${c.replicaKeys}: must be 0 (no replication) or a power of two up to 4096`;
  }
  if (!(c.outMax >= 1 && c.outMax <= 65536)) return `outMax ${c.outMax}: must be from 1 to 65536`;
  if (!(c.txBytes >= 4096)) return `txBytes ${c.txBytes}: must be at least 4096`;
  if (!Number.isInteger(c.frames) || c.frames < 0 || c.frames > 1 << 20) {
    return `frames ${c.frames}: must be a whole number up to ${1 << 20}`;
  }
  if (c.frameBytes !== 2048 && c.frameBytes !== 4096) return `frameBytes ${c.frameBytes}: must be 2048 or 4096`;
  if (!Number.isInteger(c.peerEvents) || c.peerEvents < 0 || c.peerEvents > 1 << 20) {
    return `peerEvents ${c.peerEvents}: must be a whole number up to ${1 << 20}`;
  }
  return undefined;
}
