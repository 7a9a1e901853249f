// Plays the host's part for connections' bytes (DK_STREAM) and backends' replies (DK_BACKEND)
// on a core: writes them into the host area, runs one burst, and reads what the core took and
// what it queued to send.
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "../../host/core/core.js";

export interface StreamIn {
  conn: number;
  seq: number;
  bytes: Buffer;
}
export interface Taken {
  bytes: number;
  requests: number;
  close: boolean;
  /** Whole requests were left that the core had no room for, or did not look at. */
  again?: boolean;
}
export interface Sent {
  kind: "client" | "backend" | "stream" | "done";
  addr: number;
  port: number;
  /** For "stream", the request's number from the frame header, and the payload after it. */
  seq: number;
  /** For "stream", the piece's place in its reply (the header's reserved field; 0: none). */
  order: number;
  payload: Buffer;
}
export interface BackendIn {
  addr: number;
  port: number;
  id: number;
  body: string;
}

const KINDS = ["client", "backend", "stream", "done"] as const;

/** An IPv4 address as the core holds it (sin_addr's bytes read as a little-endian u32). */
export const ipv4 = (dotted: string): number => Buffer.from(dotted.split(".").map(Number)).readUInt32LE(0);

export function streamBurst(
  core: Core,
  streams: readonly StreamIn[],
  replies: readonly BackendIn[] = [],
): { taken: Taken[]; sent: Sent[] } {
  let at = core.hostArea.offset;
  let k = 0;
  const put = (bytes: Buffer, aux: number, flags: number): void => {
    core.u8.set(bytes, at);
    const d = (core.rx >>> 2) + k * 4;
    core.u32[d] = at;
    core.u32[d + 1] = bytes.length;
    core.u32[d + 2] = aux >>> 0;
    core.u32[d + 3] = flags >>> 0;
    at += (bytes.length + 7) & ~7;
    k++;
  };
  for (const r of replies) {
    const header = Buffer.from([r.id >> 8, r.id & 0xff, 0, 0, 0, 1, 0, 0]);
    put(Buffer.concat([header, Buffer.from(r.body, "latin1")]), r.addr, abi.DK_BACKEND | (r.port << 16));
  }
  const first = k;
  for (const s of streams) put(s.bytes, s.conn, abi.DK_STREAM | (s.seq << 16));
  core.process(k);
  const taken = streams.map((_, i) => {
    const d = (core.tx >>> 2) + (first + i) * 4;
    return {
      bytes: core.u32[d + 1] ?? 0,
      requests: core.u32[d + 2] ?? 0,
      close: ((core.u32[d + 3] ?? 0) & abi.RF_CLOSE) !== 0,
      ...(((core.u32[d + 3] ?? 0) & abi.RF_AGAIN) !== 0 ? { again: true } : {}),
    };
  });
  return { taken, sent: outRing(core) };
}

function outRing(core: Core): Sent[] {
  const n = core.u32[(abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2] ?? 0;
  const base = core.region(abi.R_OUT).offset >>> 2;
  const sent: Sent[] = [];
  for (let i = 0; i < n; i++) {
    const d = base + i * 4;
    const off = core.u32[d] ?? 0;
    const len = core.u32[d + 1] ?? 0;
    const flags = core.u32[d + 3] ?? 0;
    const kind = KINDS[flags & 0xff] ?? "client";
    const bytes = Buffer.from(core.u8.subarray(off, off + len));
    sent.push({
      kind,
      addr: core.u32[d + 2] ?? 0,
      port: flags >>> 16,
      seq: kind === "done" ? flags >>> 16 : len >= 8 ? bytes.readUInt16BE(0) : -1,
      order: kind === "stream" && len >= 8 ? bytes.readUInt16BE(6) : 0,
      payload: bytes.subarray(8),
    });
  }
  return sent;
}
