// The backend table in the core's route region: written by the control plane, read back for
// /stats. Addresses are kept as the core and the socket addon see them: the four bytes of
// sin_addr read as a little-endian u32.
import * as abi from "../../assembly/abi/abi.js";
import { CoreError, describeCoreError } from "../errors.js";
import { keyBytes, type Core, type Key } from "./core.js";

export interface Backend {
  /** The host string ketama hashes, as configured ("10.0.0.5", "cache-1"). */
  host: string;
  /** Its IPv4 address, dotted. */
  address: string;
  port: number;
  weight: number;
}

/**
 * An entry of the backend table. After a reload, a backend that left stays in its entry,
 * retired: off the ring, while the replies to the requests in flight to it are still taken.
 */
export interface BackendSlot extends Backend {
  retired?: boolean;
}

export interface BackendCounters {
  requests: bigint;
  replies: bigint;
  timeouts: bigint;
  outstanding: number;
  /** Requests that timed out in a row. */
  fails: number;
  /** The adaptive hot set's bar for this backend's keys: the share of the warm threshold they
   * must reach to enter L2 (1 as configured; lower while the backend is over the bound). */
  admit: number;
}

export function ipv4ToWire(address: string): number {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`${address}: not an IPv4 address`);
  }
  const [a = 0, b = 0, c = 0, d = 0] = parts;
  return (a | (b << 8) | (c << 16) | (d << 24)) >>> 0;
}

export function wireToIpv4(wire: number): string {
  return [wire & 0xff, (wire >>> 8) & 0xff, (wire >>> 16) & 0xff, wire >>> 24].join(".");
}

function entry(core: Core, i: number): number {
  return core.region(abi.R_ROUTE).offset + abi.ROUTE_BACKENDS + i * abi.BACKEND_BYTES;
}

/** Writes the table and rebuilds the ketama ring; returns the ring's points. */
export function setBackends(core: Core, backends: readonly Backend[]): number {
  if (backends.length > abi.MAX_BACKENDS) throw new Error(`${backends.length} backends: kvlb takes at most 64`);
  backends.forEach((b, i) => {
    const at = entry(core, i);
    core.u8.fill(0, at, at + abi.BACKEND_BYTES);
    writeServer(core, i, b);
  });
  const r = core.exports.set_backends(backends.length);
  if (r < 0) throw new CoreError(r, `backend table: ${describeCoreError(r)}`);
  return r;
}

/** The fields of entry i that name its server (the host ketama hashes, where it listens, its weight). */
function writeServer(core: Core, i: number, b: Backend): void {
  const view = new DataView(core.memory.buffer);
  const at = entry(core, i);
  const name = new TextEncoder().encode(b.host);
  if (name.length === 0 || name.length > 64) throw new Error(`${b.host}: a backend name has 1 to 64 bytes`);
  view.setUint32(at + abi.B_ADDR, ipv4ToWire(b.address), true);
  view.setUint16(at + abi.B_PORT, b.port, true);
  view.setUint32(at + abi.B_WEIGHT, b.weight, true);
  view.setUint8(at + abi.B_NAME_LEN, name.length);
  core.u8.set(name, at + abi.B_NAME);
}

/**
 * A reload's table: entries whose bit is set in `keep` hold the same server as before and keep
 * their counters and state (a retired one or one coming back excepted); the others start anew.
 * Rebuilds the ring from the entries not retired and drops the caches' copies. Returns the
 * ring's points.
 */
export function changeBackends(core: Core, slots: readonly BackendSlot[], keep: bigint): number {
  if (slots.length > abi.MAX_BACKENDS) throw new Error(`${slots.length} backends: kvlb takes at most 64`);
  // checked before any entry is written: a refused table leaves the running one whole
  for (const b of slots) {
    const n = new TextEncoder().encode(b.host).length;
    if (n === 0 || n > 64) throw new Error(`${b.host}: a backend name has 1 to 64 bytes`);
    ipv4ToWire(b.address);
  }
  const view = new DataView(core.memory.buffer);
  slots.forEach((b, i) => {
    const at = entry(core, i);
    const kept = ((keep >> BigInt(i)) & 1n) === 1n;
    if (!kept) core.u8.fill(0, at, at + abi.BACKEND_BYTES);
    writeServer(core, i, b);
    const state = view.getUint32(at + abi.B_STATE, true);
    if (b.retired) view.setUint32(at + abi.B_STATE, abi.BK_RETIRED, true);
    else if (!kept || state === abi.BK_RETIRED) view.setUint32(at + abi.B_STATE, abi.BK_UP, true);
  });
  const r = core.exports.change_backends(slots.length, keep);
  if (r < 0) throw new CoreError(r, `backend table: ${describeCoreError(r)}`);
  return r;
}

export function backendCounters(core: Core, count: number): BackendCounters[] {
  const view = new DataView(core.memory.buffer);
  return Array.from({ length: count }, (_, i) => {
    const at = entry(core, i);
    return {
      requests: view.getBigUint64(at + abi.B_REQUESTS, true),
      replies: view.getBigUint64(at + abi.B_REPLIES, true),
      timeouts: view.getBigUint64(at + abi.B_TIMEOUTS, true),
      outstanding: view.getUint32(at + abi.B_OUTSTANDING, true),
      fails: view.getUint32(at + abi.B_FAILS, true),
      admit: view.getFloat64(at + abi.B_ADMIT, true),
    };
  });
}

/** The backend index ketama picks for a key (-1 with no backends). */
export function routeKey(core: Core, key: Key): number {
  const k = keyBytes(key);
  const at = core.hostArea.offset;
  core.u8.set(k, at);
  return core.exports.route_key(at, k.length);
}

// How many state changes each core has applied per backend: the control plane reads a worker's
// timed-out-in-a-row count only from a report made after its own last change reached the core
// (the change resets that count), or a stale count would mark a backend down again at once.
const applied = new WeakMap<Core, number[]>();

/** Marks backend b up or down for routing; a change drops the caches' copies of its keys. */
export function setBackendState(core: Core, b: number, up: boolean): number {
  const r = core.exports.set_backend_state(b, up ? abi.BK_UP : abi.BK_DOWN);
  if (r < 0) throw new CoreError(r, `backend ${b} state: ${describeCoreError(r)}`);
  const counts = applied.get(core) ?? [];
  counts[b] = (counts[b] ?? 0) + 1;
  applied.set(core, counts);
  return r;
}

/** The state changes of backend b this core has applied. */
export function stateChanges(core: Core, b: number): number {
  return applied.get(core)?.[b] ?? 0;
}

/** Drops the caches' copies of backend b's keys, or of every key; returns how many. */
export function purgeCache(core: Core, b: number | "all"): number {
  const r = core.exports.purge_cache(b === "all" ? 0xffffffff : b);
  if (r < 0) throw new CoreError(r, `purge: ${describeCoreError(r)}`);
  return r;
}

/** What the last probe the core sent to a backend heard back, and how many it heard in all. */
export interface CoreProbeAnswer {
  answers: number;
  pid: number;
  uptime: number;
  cmdFlush: number;
}

/** How many probes backend b has answered: one load, for a check made every tick. */
export function probeAnswers(core: Core, b: number): number {
  return core.u32[(entry(core, b) + abi.B_PROBES) >>> 2] ?? 0;
}

/** Backend b's probe answers, as the core keeps them (assembly/proxy/probe.ts). */
export function coreProbeAnswer(core: Core, b: number): CoreProbeAnswer {
  const view = new DataView(core.memory.buffer);
  const at = entry(core, b);
  return {
    answers: view.getUint32(at + abi.B_PROBES, true),
    pid: view.getUint32(at + abi.B_PROBE_PID, true),
    uptime: view.getUint32(at + abi.B_PROBE_UPTIME, true),
    cmdFlush: view.getUint32(at + abi.B_PROBE_FLUSHES, true),
  };
}

/** Has the core send the health checker's `stats` to backend b, with its next tick's output. */
export function probeBackend(core: Core, b: number): void {
  const r = core.exports.probe_backend(b);
  if (r < 0) throw new CoreError(r, `probe of backend ${b}: ${describeCoreError(r)}`);
}

/** What a control message about backends asks of a worker's core; false for other messages. */
export function applyBackendControl(core: Core, m: { type: string; backend?: number | "all"; up?: boolean }): boolean {
  if (m.type === "backend-state" && typeof m.backend === "number") {
    setBackendState(core, m.backend, m.up === true);
    return true;
  }
  if (m.type === "purge" && m.backend !== undefined) {
    purgeCache(core, m.backend);
    return true;
  }
  if (m.type === "probe" && typeof m.backend === "number") {
    probeBackend(core, m.backend);
    return true;
  }
  return false;
}
