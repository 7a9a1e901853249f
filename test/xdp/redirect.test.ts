// The XDP_REDIRECT verdict itself, with a real AF_XDP socket (libbpf-ts's XskSet over a
// WebAssembly memory) in xsks_map, on a veth in a namespace the test creates and removes.
import test from "ava";
import { execFileSync } from "node:child_process";
import { vethNamespace } from "../support/veth-namespace.js";

const ns = vethNamespace(test, "xsk");

interface Probe {
  withSocket: Record<string, string>;
  without: Record<string, string>;
  poolAfterFill: number;
}

test("memcached UDP over IPv4, IPv6 and VLAN is redirected into a bound AF_XDP socket", (t) => {
  const out = execFileSync(
    "ip",
    ["netns", "exec", ns, process.execPath, "--import=tsx", "test/support/xsk-redirect-probe.ts", "va"],
    { encoding: "utf8" },
  );
  const p = JSON.parse(out.trim().split("\n").pop() ?? "{}") as Probe;
  t.deepEqual(p.withSocket, {
    ipv4: "REDIRECT",
    ipv6: "REDIRECT",
    vlan: "REDIRECT",
    reply: "REDIRECT",
    tcp: "PASS",
    otherPort: "PASS",
  });
  t.deepEqual(Object.values(p.without), Array<string>(6).fill("PASS"), "no socket bound: everything passes");
  t.is(p.poolAfterFill, 64 - 32, "the socket's fill ring took its 32 frames from the pool");
});
