// The ring after a reload (core change_backends): built from the entries not retired, it must
// put every key where libmemcached puts it for a list of just those servers; an entry kept over
// the same server keeps its counters; a retired entry is never routed to, nor marked up.
import test from "ava";
import * as abi from "../../assembly/abi/abi.js";
import { makeCore } from "../support/core.js";
import { setBackends, changeBackends, routeKey, backendCounters, setBackendState } from "../../host/core/backends.js";
import type { Backend, BackendSlot } from "../../host/core/backends.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";

const server = (i: number, weight = 1): Backend => ({
  host: `10.9.0.${i}`,
  address: `10.9.0.${i}`,
  port: 11211,
  weight,
});
const keys = Array.from({ length: 6000 }, (_, i) => `reload-key-${i}-${(i * 7919) % 1000}`);

/** Each key's server (as its host), by kvlb's ring and by libmemcached's for the active list. */
function agree(core: Awaited<ReturnType<typeof makeCore>>, slots: readonly BackendSlot[]): [string[], string[]] {
  const active = slots.filter((s) => !s.retired);
  const expected = libmemcachedHomes(active, keys).map((i) => active[i]?.host ?? "none");
  const got = keys.map((k) => slots[routeKey(core, k)]?.host ?? "none");
  return [got, expected];
}

test("a reload that retires a server in the middle and adds one builds libmemcached's ring of the servers left", async (t) => {
  const core = await makeCore();
  setBackends(core, [server(1), server(2), server(3)]);
  const slots: BackendSlot[] = [server(1), { ...server(2), retired: true }, server(3), server(4, 2)];
  t.true(changeBackends(core, slots, 0b0111n) > 0);
  const [got, expected] = agree(core, slots);
  t.deepEqual(got, expected);
  t.false(got.includes("10.9.0.2"), "no key goes to the retired server");
});

test("a reload over the same servers with new weights keeps their counters and moves keys as libmemcached does", async (t) => {
  const core = await makeCore();
  setBackends(core, [server(1), server(2)]);
  // requests forwarded before the reload, as the core counts them
  const view = new DataView(core.memory.buffer);
  const entry = (i: number): number => core.region(abi.R_ROUTE).offset + abi.ROUTE_BACKENDS + i * abi.BACKEND_BYTES;
  view.setBigUint64(entry(0) + abi.B_REQUESTS, 41n, true);
  view.setUint32(entry(1) + abi.B_OUTSTANDING, 3, true);
  const slots = [server(1, 3), server(2, 1)];
  changeBackends(core, slots, 0b11n);
  const [got, expected] = agree(core, slots);
  t.deepEqual(got, expected);
  const counters = backendCounters(core, 2);
  t.is(counters[0]?.requests, 41n);
  t.is(counters[1]?.outstanding, 3);
});

test("an entry that starts anew has its counters zeroed; a retired one refuses to be marked up or down", async (t) => {
  const core = await makeCore();
  setBackends(core, [server(1), server(2)]);
  const view = new DataView(core.memory.buffer);
  const entry = (i: number): number => core.region(abi.R_ROUTE).offset + abi.ROUTE_BACKENDS + i * abi.BACKEND_BYTES;
  view.setBigUint64(entry(1) + abi.B_REQUESTS, 9n, true);
  changeBackends(core, [{ ...server(1), retired: true }, server(5)], 0b01n);
  t.is(backendCounters(core, 2)[1]?.requests, 0n);
  t.throws(() => setBackendState(core, 0, true), { message: /backend 0 state/ });
  t.is(routeKey(core, "any"), 1, "one server left: every key goes to it");
});

test("a reload may drop drained retired entries off the end of the table, never busy ones", async (t) => {
  const core = await makeCore();
  setBackends(core, [server(1), server(2)]);
  changeBackends(core, [server(1), { ...server(2), retired: true }], 0b11n);
  const view = new DataView(core.memory.buffer);
  const entry = core.region(abi.R_ROUTE).offset + abi.ROUTE_BACKENDS + abi.BACKEND_BYTES;
  view.setUint32(entry + abi.B_OUTSTANDING, 1, true);
  t.throws(() => changeBackends(core, [server(1)], 0b1n), { message: /backend table/ });
  view.setUint32(entry + abi.B_OUTSTANDING, 0, true);
  t.true(changeBackends(core, [server(1)], 0b1n) > 0);
});
