// A stream of keys laid out back to back in the core's host area, as the payloads of an rx
// ring would be: a burst only writes descriptors that point at them.
import type { Core } from "../core/core.js";
import * as abi from "../../assembly/abi/abi.js";

export interface KeyStream {
  offsets: Uint32Array;
  lengths: Uint8Array;
  bytes: number;
}

export function streamBytes(keys: readonly string[], draws: Uint32Array): number {
  let n = 0;
  for (const d of draws) n += (keys[d] ?? "").length;
  return n;
}

/** Writes the keys named by `draws`, in order, into the host area. */
export function layStream(core: Core, keys: readonly string[], draws: Uint32Array): KeyStream {
  const offsets = new Uint32Array(draws.length);
  const lengths = new Uint8Array(draws.length);
  const buf = Buffer.from(core.memory.buffer, core.hostArea.offset, core.hostArea.size);
  let at = 0;
  draws.forEach((d, i) => {
    const written = buf.write(keys[d] ?? "", at, "latin1");
    offsets[i] = core.hostArea.offset + at;
    lengths[i] = written;
    at += written;
  });
  return { offsets, lengths, bytes: at };
}

/** Runs keys [from, to) of the stream through the core in bursts of `kind`; returns the L1 hits. */
export function runStream(core: Core, stream: KeyStream, from: number, to: number, kind: number = abi.DK_KEY): number {
  const burst = core.config.burstMax;
  const rx = core.rx >>> 2;
  const tx = core.tx >>> 2;
  const u32 = core.u32;
  let hits = 0;
  for (let i = from; i < to; i += burst) {
    const n = Math.min(burst, to - i);
    for (let j = 0; j < n; j++) {
      const d = rx + j * 4;
      u32[d] = stream.offsets[i + j] ?? 0;
      u32[d + 1] = stream.lengths[i + j] ?? 0;
      u32[d + 2] = 1;
      u32[d + 3] = kind;
    }
    core.process(n);
    for (let j = 0; j < n; j++) if ((u32[tx + j * 4 + 3] ?? 0) & abi.RF_L1_HIT) hits++;
  }
  return hits;
}
