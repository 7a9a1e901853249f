// Where a reload puts each backend in the core's table. A backend that stays keeps its entry
// (and with it its counters, its health and the requests in flight to it); one that leaves is
// retired in place, off the ring, until no request to it is in flight; a new one takes a
// retired entry that has drained, or a new entry at the end.
import { MAX_BACKENDS } from "../../assembly/abi/abi.js";
import type { Backend, BackendSlot } from "../core/backends.js";
import { ConfigError } from "../errors.js";

export interface SlotPlan {
  slots: BackendSlot[];
  /** Bit i set: entry i holds the same server as before (core/backends.ts, changeBackends). */
  keep: bigint;
  added: Backend[];
  removed: Backend[];
  /** Backends that stay with another weight. */
  reweighted: Backend[];
}

export const sameServer = (a: Backend, b: Backend): boolean =>
  a.host === b.host && a.address === b.address && a.port === b.port;

export const endpointText = (b: Backend): string => `${b.host}:${b.port}`;

/**
 * The table after a reload from `current` to the backends `next`; `outstanding(i)` is how many
 * requests to entry i are in flight.
 */
export function planSlots(
  current: readonly BackendSlot[],
  next: readonly Backend[],
  outstanding: (i: number) => number,
): SlotPlan {
  const slots: (BackendSlot | undefined)[] = [];
  let keep = 0n;
  const added: Backend[] = [];
  const removed: Backend[] = [];
  const reweighted: Backend[] = [];
  const placed = new Set<number>(); // indices into next
  current.forEach((slot, i) => {
    const j = next.findIndex((b, k) => !placed.has(k) && sameServer(b, slot));
    const b = next[j];
    if (b) {
      placed.add(j);
      if (!slot.retired && b.weight !== slot.weight) reweighted.push(b);
      if (slot.retired) added.push(b);
      slots[i] = { ...b };
      keep |= 1n << BigInt(i);
    } else if (!slot.retired) {
      removed.push(slot);
      slots[i] = { ...slot, retired: true };
      keep |= 1n << BigInt(i);
    } else if (outstanding(i) > 0) {
      slots[i] = slot;
      keep |= 1n << BigInt(i);
    } else {
      slots[i] = undefined; // drained: free for a new backend
    }
  });
  next.forEach((b, k) => {
    if (placed.has(k)) return;
    added.push(b);
    const free = slots.findIndex((s) => s === undefined);
    if (free >= 0) slots[free] = { ...b };
    else slots.push({ ...b });
  });
  // drained entries left over: off the end of the table, or retired in place
  while (slots.length > 0 && slots[slots.length - 1] === undefined) slots.pop();
  const table = slots.map((s, i) => s ?? { ...(current[i] as BackendSlot), retired: true });
  if (table.length > MAX_BACKENDS) {
    throw new ConfigError(
      `backends: ${next.length} servers and ${table.length - next.length} leaving ones still answering ` +
        `need ${table.length} entries; kvlb has ${MAX_BACKENDS} (reload again once they have drained)`,
    );
  }
  return { slots: table, keep, added, removed, reweighted };
}

/** The backends on the ring. */
export const activeSlots = (slots: readonly BackendSlot[]): BackendSlot[] => slots.filter((s) => !s.retired);
