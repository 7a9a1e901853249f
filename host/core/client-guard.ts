// The host's side of the core's client guard (assembly/proxy/guard.ts): the allow-list, the
// admin clients and this host's own addresses, written into the clients region.
import * as abi from "../../assembly/abi/abi.js";
import type { Core } from "./core.js";
import { ipv4ToWire } from "./backends.js";

type CidrList = readonly { network: string; bits: number }[];

/** Each CIDR as (network, mask), both as sin_addr holds them: what the core and the TCP side compare. */
export function cidrPairs(list: CidrList): Uint32Array {
  const pairs = new Uint32Array(list.length * 2);
  list.forEach((c, i) => {
    const mask = c.bits === 0 ? "0.0.0.0" : [24, 16, 8, 0].map((s) => ((~0 << (32 - c.bits)) >>> s) & 0xff).join(".");
    pairs[2 * i] = ipv4ToWire(c.network);
    pairs[2 * i + 1] = ipv4ToWire(mask);
  });
  return pairs;
}

function writeCidrs(view: DataView, at: number, list: CidrList): void {
  cidrPairs(list).forEach((v, i) => view.setUint32(at + 4 * i, v, true));
}

/** Writes who may be answered (the allow-list), whose flush_all is sent on, and this host's own addresses. */
export function setClientGuard(core: Core, guard: { allow: CidrList; admin?: CidrList; own: readonly string[] }): void {
  if (guard.allow.length > abi.MAX_ALLOW) throw new Error(`clients.allow: at most ${abi.MAX_ALLOW} entries`);
  const view = new DataView(core.memory.buffer);
  const base = core.region(abi.R_CLIENTS).offset;
  writeCidrs(view, base + abi.CL_ALLOW, guard.allow);
  const admin = (guard.admin ?? []).slice(0, abi.MAX_ADMIN);
  writeCidrs(view, base + abi.CL_ADMIN, admin);
  view.setUint32(base + abi.CL_ADMIN_COUNT, admin.length, true);
  const own = guard.own.slice(0, abi.MAX_OWN);
  own.forEach((a, i) => view.setUint32(base + abi.CL_OWN + 4 * i, ipv4ToWire(a), true));
  view.setUint32(base + abi.CL_OWN_COUNT, own.length, true);
  view.setUint32(base + abi.CL_ALLOW_COUNT, guard.allow.length, true);
}
