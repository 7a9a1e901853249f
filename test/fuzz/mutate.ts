// Hostile memcached datagrams, reproducible from a seed: valid ASCII, meta and binary requests
// as clients send them, then mutated the way an attacker or a broken client would: lengths near
// every boundary (0, 250/251 for keys, the datagram's size, 2^31, 2^32 - 1), bytes flipped,
// lines cut or joined, several requests in one datagram, and frame headers that lie.

/** xorshift32: small, fast and the same on every machine for a seed. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.next() % n;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
}

const BOUNDARY_NUMBERS = [
  "0",
  "1",
  "2",
  "249",
  "250",
  "251",
  "1391",
  "1392",
  "1393",
  "65527",
  "65535",
  "65536",
  "2147483647",
  "2147483648",
  "4294967272",
  "4294967277",
  "4294967295",
  "4294967296",
  "18446744073709551615",
  "-1",
  "-2147483648",
  "00000000001",
  "1e3",
  "",
];
const BOUNDARY_U32 = [0, 1, 2, 7, 8, 23, 24, 25, 249, 250, 251, 1000, 1009, 65535, 0x7fffffff, 0xfffffff0, 0xffffffff];

const ASCII_COMMANDS = ["get", "gets", "gat", "gats", "set", "add", "replace", "append", "prepend", "cas", "delete"];
const MORE_WORDS = ["incr", "decr", "touch", "version", "mn", "mg", "ms", "md", "ma", "me", "stats", "flush_all"];
const META_FLAGS = ["q", "k", "v", "f", "t", "c", "s", "b", "O123", "T10", "N5", "MA", "ME", "I", "D1", "S3", "P", "L"];

export interface Fuzzed {
  payload: Buffer;
  /** What the generator was aiming at, for the report. */
  family: "ascii" | "meta" | "binary" | "frame" | "junk";
}

/** A fuzz key: never one of the stable keys the checks read back. */
function key(r: Rng): string {
  const len = r.chance(0.05) ? r.pick([0, 249, 250, 251, 300]) : 1 + r.below(12);
  let k = "fz";
  while (k.length < len) k += String.fromCharCode(r.chance(0.02) ? r.below(32) : 0x61 + r.below(26));
  return k.slice(0, Math.max(len, 0));
}

function value(r: Rng): string {
  const len = r.chance(0.02) ? r.below(5000) : r.below(64);
  return "v".repeat(len);
}

function asciiCommand(r: Rng): string {
  const cmd = r.chance(0.85) ? r.pick(ASCII_COMMANDS) : r.pick(MORE_WORDS);
  const k = key(r);
  switch (cmd) {
    case "get":
    case "gets":
      return `${cmd} ${Array.from({ length: 1 + r.below(r.chance(0.02) ? 600 : 4) }, () => key(r)).join(" ")}\r\n`;
    case "gat":
    case "gats":
      return `${cmd} ${r.pick(BOUNDARY_NUMBERS)} ${k}\r\n`;
    case "set":
    case "add":
    case "replace":
    case "append":
    case "prepend":
    case "cas": {
      const v = value(r);
      const declared = r.chance(0.7) ? String(v.length) : r.pick(BOUNDARY_NUMBERS);
      const exp = r.chance(0.8) ? "0" : r.pick(BOUNDARY_NUMBERS);
      const cas = cmd === "cas" ? ` ${r.pick(BOUNDARY_NUMBERS)}` : "";
      const noreply = r.chance(0.1) ? " noreply" : "";
      return `${cmd} ${k} ${r.below(3)} ${exp} ${declared}${cas}${noreply}\r\n${v}\r\n`;
    }
    case "delete":
      return `delete ${k}${r.chance(0.2) ? " noreply" : ""}\r\n`;
    case "incr":
    case "decr":
    case "touch":
      return `${cmd} ${k} ${r.pick(BOUNDARY_NUMBERS)}${r.chance(0.2) ? " noreply" : ""}\r\n`;
    default:
      return metaCommand(r, cmd);
  }
}

function metaCommand(r: Rng, cmd = r.pick(["mg", "ms", "md", "ma", "me", "mn"])): string {
  const base64 = r.chance(0.2);
  const k = base64 ? Buffer.from(key(r)).toString("base64") : key(r);
  const flags = Array.from({ length: r.below(5) }, () => r.pick(META_FLAGS));
  if (base64) flags.push("b");
  if (cmd === "mn") return "mn\r\n";
  if (cmd === "ms") {
    const v = value(r);
    const declared = r.chance(0.7) ? String(v.length) : r.pick(BOUNDARY_NUMBERS);
    return `ms ${k} ${declared} ${flags.join(" ")}\r\n${v}\r\n`;
  }
  return `${cmd} ${k} ${flags.join(" ")}\r\n`;
}

function binaryRequest(r: Rng): Buffer {
  const opcode = r.chance(0.8)
    ? r.pick([0x00, 0x01, 0x04, 0x05, 0x09, 0x0a, 0x0c, 0x0d, 0x11, 0x1c, 0x1d])
    : r.below(256);
  const k = Buffer.from(key(r), "latin1");
  const extras = Buffer.alloc(
    opcode === 0x01 || opcode === 0x11 ? 8 : opcode === 0x05 ? 20 : r.chance(0.1) ? r.below(9) : 0,
  );
  const v = Buffer.from(r.chance(0.5) ? value(r) : "", "latin1");
  const h = Buffer.alloc(24);
  h[0] = r.chance(0.95) ? 0x80 : r.below(256);
  h[1] = opcode;
  h.writeUInt16BE(r.chance(0.9) ? k.length : r.pick(BOUNDARY_U32) & 0xffff, 2);
  h[4] = r.chance(0.9) ? extras.length : r.below(256);
  const body = extras.length + k.length + v.length;
  h.writeUInt32BE(r.chance(0.85) ? body : r.pick(BOUNDARY_U32), 8);
  h.writeUInt32BE(r.next(), 12);
  return Buffer.concat([h, extras, k, v]);
}

/** Flips, cuts, repeats and splices bytes of a request. */
function mutate(r: Rng, b: Buffer): Buffer {
  const rounds = r.below(4);
  let out = b;
  for (let i = 0; i < rounds; i++) {
    const at = out.length === 0 ? 0 : r.below(out.length);
    switch (r.below(7)) {
      case 0: // flip a byte
        if (out.length > 0) {
          out = Buffer.from(out);
          out[at] = r.below(256);
        }
        break;
      case 1: // cut the tail
        out = out.subarray(0, at);
        break;
      case 2: // repeat a slice
        out = Buffer.concat([out, out.subarray(at, at + r.below(64))]);
        break;
      case 3: // a boundary number in the middle
        out = Buffer.concat([out.subarray(0, at), Buffer.from(r.pick(BOUNDARY_NUMBERS)), out.subarray(at)]);
        break;
      case 4: // a stray line end or space
        out = Buffer.concat([
          out.subarray(0, at),
          Buffer.from(r.pick(["\r\n", "\n", "\r", " ", "\0"])),
          out.subarray(at),
        ]);
        break;
      case 5: // drop a byte
        out = Buffer.concat([out.subarray(0, at), out.subarray(at + 1)]);
        break;
      default: // nothing
    }
  }
  return out;
}

/** The 8-byte memcached UDP frame header: mostly honest, sometimes lying. */
function udpFrame(r: Rng, id: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(id & 0xffff, 0);
  const lie = r.chance(0.05);
  h.writeUInt16BE(lie ? r.below(65536) : 0, 2);
  h.writeUInt16BE(lie ? r.pick([0, 2, 65535]) : 1, 4);
  h.writeUInt16BE(r.chance(0.02) ? r.below(65536) : 0, 6);
  return Buffer.concat([h, body]);
}

/** The most a UDP datagram can carry over IPv4. */
export const MAX_UDP_PAYLOAD = 65507;

/** One hostile datagram (frame header included), at most MAX_UDP_PAYLOAD bytes. */
export function hostileDatagram(r: Rng, id: number): Fuzzed {
  const { payload: body, family } = hostileRequests(r);
  const payload = udpFrame(r, id, body);
  return { payload: payload.subarray(0, MAX_UDP_PAYLOAD), family };
}

/** Hostile requests without a frame header: one datagram's worth, or a stretch of a TCP stream. */
export function hostileRequests(r: Rng): Fuzzed {
  const roll = r.below(100);
  let family: Fuzzed["family"];
  let body: Buffer;
  if (roll < 45) {
    family = "ascii";
    const n = r.chance(0.2) ? 1 + r.below(6) : 1;
    body = Buffer.from(Array.from({ length: n }, () => asciiCommand(r)).join(""), "latin1");
  } else if (roll < 65) {
    family = "meta";
    const n = r.chance(0.3) ? 1 + r.below(6) : 1;
    body = Buffer.from(Array.from({ length: n }, () => metaCommand(r)).join(""), "latin1");
  } else if (roll < 90) {
    family = "binary";
    body = Buffer.concat(Array.from({ length: r.chance(0.3) ? 1 + r.below(6) : 1 }, () => binaryRequest(r)));
  } else {
    family = "junk";
    body = Buffer.from(Array.from({ length: r.below(r.chance(0.1) ? 3000 : 40) }, () => r.below(256)));
  }
  if (r.chance(0.6)) body = mutate(r, body);
  return { payload: body, family };
}

/** A backend's reply as a forger or a broken backend would send it, for request id `id`. */
export function hostileReply(r: Rng, id: number): Buffer {
  let body: Buffer;
  const roll = r.below(4);
  if (roll === 0) {
    const k = key(r);
    const v = value(r);
    const declared = r.chance(0.6) ? String(v.length) : r.pick(BOUNDARY_NUMBERS);
    body = Buffer.from(`VALUE ${k} 0 ${declared}\r\n${v}\r\n${r.chance(0.7) ? "END\r\n" : ""}`, "latin1");
  } else if (roll === 1) {
    body = Buffer.from(
      r.pick(["END\r\n", "STORED\r\n", "HD\r\n", "EN\r\n", "SERVER_ERROR x\r\n", "12\r\n", "VA 3 t-1\r\nabc\r\n"]),
    );
  } else if (roll === 2) {
    const h = Buffer.alloc(24);
    h[0] = 0x81;
    h[1] = r.below(256);
    h.writeUInt16BE(r.below(4), 6);
    h.writeUInt32BE(r.pick(BOUNDARY_U32), 8);
    body = h;
  } else {
    body = Buffer.from(Array.from({ length: r.below(64) }, () => r.below(256)));
  }
  if (r.chance(0.5)) body = mutate(r, body);
  const h = Buffer.alloc(8);
  h.writeUInt16BE(id & 0xffff, 0);
  const total = r.chance(0.1) ? r.pick([0, 2, 3, 65535]) : 1;
  h.writeUInt16BE(total > 1 ? r.below(total + 1) : 0, 2);
  h.writeUInt16BE(total, 4);
  return Buffer.concat([h, body]);
}

/** Flips or cuts bytes of a whole Ethernet frame: its headers as much as its payload. */
export function mutateFrame(r: Rng, f: Buffer): Buffer {
  if (r.chance(0.5)) return f;
  let out = Buffer.from(f);
  const flips = 1 + r.below(3);
  for (let i = 0; i < flips; i++) {
    const at = r.chance(0.7) ? r.below(Math.min(out.length, 64)) : r.below(out.length);
    out[at] = r.chance(0.5) ? r.below(256) : r.pick([0, 0xff, 0x45, 0x11, 0x08]);
  }
  if (r.chance(0.2)) out = out.subarray(0, r.below(out.length + 1));
  return out;
}
