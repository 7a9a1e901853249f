// A live migration on a worker's core: the window a reload opens (assembly/proxy/migrate.ts), and
// the mover's first step, copies of the keys the caches held as hot before the ring changed.
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "./core.js";
import { CoreError, describeCoreError } from "../errors.js";

/** Hot keys the mover copies first: those the caches hold, warmest first. */
const HOT_KEYS_MOVED = 256;

/** Keeps the ring as it is for a window of `ms` (0: closes any window). Call before the table changes. */
export function beginWindow(core: Core, ms: number): void {
  const r = core.exports.migrate_begin(ms);
  if (r < 0) throw new CoreError(r, `migration: ${describeCoreError(r)}`);
}

/** The keys the caches hold as hot now, to copy once the ring has changed. */
export function hotKeysToMove(core: Core): string[] {
  return core.hotKeys(HOT_KEYS_MOVED).map((k) => k.key);
}

/** Hands `keys` to the core, which asks the old owners for copies of those that moved at its next
 * ticks; returns how many it took (the rest found no room: hand them over again later). */
export function moveKeys(core: Core, keys: readonly string[]): number {
  const io = core.region(abi.R_IO);
  let at = io.offset;
  for (const key of keys) {
    const bytes = Buffer.from(key, "latin1");
    if (bytes.length === 0 || bytes.length > abi.MAX_KEY || at + 1 + bytes.length > io.offset + io.size) continue;
    core.u8[at] = bytes.length;
    core.u8.set(bytes, at + 1);
    at += 1 + bytes.length;
  }
  const r = core.exports.migrate_keys(at - io.offset);
  if (r < 0) throw new CoreError(r, `migration: ${describeCoreError(r)}`);
  let taken = 0;
  for (let p = io.offset; p < io.offset + r; p += 1 + (core.u8[p] ?? 0)) taken++;
  return taken;
}
