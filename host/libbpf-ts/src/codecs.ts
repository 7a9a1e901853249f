// Fixed-size encodings for map keys and values (host byte order, as the kernel stores them).
export interface Codec<T> {
  bytes: number;
  encode(v: T): Uint8Array;
  decode(b: Uint8Array): T;
}

const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

export const u8: Codec<number> = {
  bytes: 1,
  encode: (v) => Uint8Array.of(v),
  decode: (b) => b[0] ?? 0,
};

export const u16: Codec<number> = {
  bytes: 2,
  encode: (v) => {
    const b = new Uint8Array(2);
    view(b).setUint16(0, v, true);
    return b;
  },
  decode: (b) => view(b).getUint16(0, true),
};

/** A u16 the kernel keeps in network byte order, such as a port read from a packet. */
export const be16: Codec<number> = {
  bytes: 2,
  encode: (v) => {
    const b = new Uint8Array(2);
    view(b).setUint16(0, v, false);
    return b;
  },
  decode: (b) => view(b).getUint16(0, false),
};

export const u32: Codec<number> = {
  bytes: 4,
  encode: (v) => {
    const b = new Uint8Array(4);
    view(b).setUint32(0, v, true);
    return b;
  },
  decode: (b) => view(b).getUint32(0, true),
};

export const u64: Codec<bigint> = {
  bytes: 8,
  encode: (v) => {
    const b = new Uint8Array(8);
    view(b).setBigUint64(0, v, true);
    return b;
  },
  decode: (b) => view(b).getBigUint64(0, true),
};

/** Raw bytes of a fixed size, for structs the caller lays out. */
export function bytes(n: number): Codec<Uint8Array> {
  return {
    bytes: n,
    encode: (v) => {
      if (v.length !== n) throw new Error(`expected ${n} bytes, got ${v.length}`);
      return v;
    },
    decode: (b) => b.slice(0, n),
  };
}
