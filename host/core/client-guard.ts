// The host's side of the core's client guard (assembly/proxy/guard.ts): the allow-list and
// this host's own addresses, written into the clients region.
import * as abi from "../../assembly/shared/abi.js";
import type { Core } from "./core.js";
import { ipv4ToWire } from "./backends.js";
/** Writes who may be answered: the allow-list (CIDRs) and this host's own addresses. */
export function setClientGuard(
  core: Core,
  guard: { allow: readonly { network: string; bits: number }[]; own: readonly string[] },
): void {
  if (guard.allow.length > abi.MAX_ALLOW) throw new Error(`clients.allow: at most ${abi.MAX_ALLOW} entries`);
  const view = new DataView(core.memory.buffer);
  const base = core.region(abi.R_CLIENTS).offset;
  guard.allow.forEach((c, i) => {
    const mask = c.bits === 0 ? "0.0.0.0" : [24, 16, 8, 0].map((s) => ((~0 << (32 - c.bits)) >>> s) & 0xff).join(".");
    view.setUint32(base + abi.CL_ALLOW + 8 * i, ipv4ToWire(c.network), true);
    view.setUint32(base + abi.CL_ALLOW + 8 * i + 4, ipv4ToWire(mask), true);
  });
  const own = guard.own.slice(0, abi.MAX_OWN);
  own.forEach((a, i) => view.setUint32(base + abi.CL_OWN + 4 * i, ipv4ToWire(a), true));
  view.setUint32(base + abi.CL_OWN_COUNT, own.length, true);
  view.setUint32(base + abi.CL_ALLOW_COUNT, guard.allow.length, true);
}
