// memcached's binary protocol for tests, written from protocol_binary.h's layout: a 24-byte
// header (magic, opcode, key length, extras length, data type, vbucket or status, total body,
// opaque, cas) followed by extras, key and value.

export const OP = {
  get: 0x00,
  set: 0x01,
  delete: 0x04,
  quit: 0x07,
  flush: 0x08,
  getq: 0x09,
  noop: 0x0a,
  version: 0x0b,
  getk: 0x0c,
  getkq: 0x0d,
  stat: 0x10,
  setq: 0x11,
  quitq: 0x17,
  flushq: 0x18,
  verbosity: 0x1b,
} as const;

export const STATUS = {
  ok: 0x0000,
  notFound: 0x0001,
  invalidArguments: 0x0004,
  notSupported: 0x0083,
  temporaryFailure: 0x0086,
} as const;

export interface BinaryRequest {
  opcode: number;
  key?: string;
  extras?: Buffer;
  value?: Buffer | string;
  opaque?: number;
  /** Overrides the total body length the header declares (a lie, for hostile tests). */
  declaredBody?: number;
}

export function binaryRequest(r: BinaryRequest): Buffer {
  const key = Buffer.from(r.key ?? "", "latin1");
  const extras = r.extras ?? Buffer.alloc(0);
  const value = typeof r.value === "string" ? Buffer.from(r.value, "latin1") : (r.value ?? Buffer.alloc(0));
  const h = Buffer.alloc(24);
  h[0] = 0x80;
  h[1] = r.opcode;
  h.writeUInt16BE(key.length, 2);
  h[4] = extras.length;
  h.writeUInt32BE(r.declaredBody ?? extras.length + key.length + value.length, 8);
  h.writeUInt32BE(r.opaque ?? 0, 12);
  return Buffer.concat([h, extras, key, value]);
}

/** A set's extras: flags and expiration, two big-endian u32s. */
export function setExtras(flags = 0, exptime = 0): Buffer {
  const e = Buffer.alloc(8);
  e.writeUInt32BE(flags, 0);
  e.writeUInt32BE(exptime, 4);
  return e;
}

export interface BinaryResponse {
  opcode: number;
  status: number;
  opaque: number;
  key: string;
  value: string;
}

/** Every response in a reply payload, in order; throws on a payload that is not whole responses. */
export function binaryResponses(payload: Buffer): BinaryResponse[] {
  const out: BinaryResponse[] = [];
  let at = 0;
  while (at < payload.length) {
    if (payload.length - at < 24 || payload[at] !== 0x81) throw new Error(`not a binary response at ${at}`);
    const keyLen = payload.readUInt16BE(at + 2);
    const extLen = payload[at + 4] ?? 0;
    const body = payload.readUInt32BE(at + 8);
    if (at + 24 + body > payload.length) throw new Error(`a response body runs past the payload at ${at}`);
    const keyAt = at + 24 + extLen;
    out.push({
      opcode: payload[at + 1] ?? -1,
      status: payload.readUInt16BE(at + 6),
      opaque: payload.readUInt32BE(at + 12),
      key: payload.toString("latin1", keyAt, keyAt + keyLen),
      value: payload.toString("latin1", keyAt + keyLen, at + 24 + body),
    });
    at += 24 + body;
  }
  return out;
}
