// Routing against libmemcached itself: a small C program built here asks
// memcached_generate_hash (weighted ketama) where each key goes, and the core must agree on
// every key, over several server lists with weights and non-default ports.
import test from "ava";
import { makeCore } from "../support/core.js";
import { setBackends, routeKey, type Backend } from "../../host/core/backends.js";
import { libmemcachedHomes } from "../support/ketama-oracle.js";

function keys(n: number, seed: number): string[] {
  let x = seed >>> 0;
  const next = (): number => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0);
  return Array.from({ length: n }, (_, i) => {
    // 1 to 250 bytes (memcached's longest key): MD5 pads one block or two, and hashes up to four
    const len = 1 + (next() % 250);
    let k = `${i}:`;
    while (k.length < len) k += String.fromCharCode(33 + (next() % 94));
    return k.slice(0, Math.max(1, len)).replace(/\s/g, "_");
  });
}

const lists: Record<string, Backend[]> = {
  "three equal on 11211": ["10.0.0.1", "10.0.0.2", "10.0.0.3"].map((a) => ({
    host: a,
    address: a,
    port: 11211,
    weight: 1,
  })),
  "loopback ports 11311-11314": [11311, 11312, 11313, 11314].map((port) => ({
    host: "127.0.0.1",
    address: "127.0.0.1",
    port,
    weight: 1,
  })),
  "weights 1, 2, 5 and mixed ports": [
    { host: "10.1.0.1", address: "10.1.0.1", port: 11211, weight: 1 },
    { host: "10.1.0.2", address: "10.1.0.2", port: 22122, weight: 2 },
    { host: "10.1.0.3", address: "10.1.0.3", port: 11211, weight: 5 },
  ],
  "seven with weights 1-7": Array.from({ length: 7 }, (_, i) => ({
    host: `192.168.7.${i + 1}`,
    address: `192.168.7.${i + 1}`,
    port: 11211 + i,
    weight: i + 1,
  })),
  "named hosts": [
    { host: "cache-a.example", address: "10.2.0.1", port: 11211, weight: 1 },
    { host: "cache-b.example", address: "10.2.0.2", port: 11211, weight: 1 },
  ],
  "one server": [{ host: "10.3.0.1", address: "10.3.0.1", port: 11211, weight: 1 }],
};

for (const [name, backends] of Object.entries(lists)) {
  test(`ketama matches libmemcached: ${name}`, async (t) => {
    const core = await makeCore();
    const points = setBackends(core, backends);
    t.true(points > 0);
    const sample = keys(12_000, name.length * 7919);
    const expected = libmemcachedHomes(backends, sample);
    t.is(expected.length, sample.length);
    let mismatches = 0;
    let firstMismatch = "";
    sample.forEach((k, i) => {
      const got = routeKey(core, k);
      if (got !== expected[i]) {
        mismatches++;
        firstMismatch ||= `${k}: kvlb ${got}, libmemcached ${expected[i]}`;
      }
    });
    t.is(mismatches, 0, firstMismatch);
    // every server gets some keys (one server gets them all)
    t.is(new Set(expected).size, backends.length);
  });
}

test("no backends: every key is unroutable", async (t) => {
  const core = await makeCore();
  t.is(routeKey(core, "anything"), -1);
});
