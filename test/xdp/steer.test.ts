// xdp/kvlb.bpf.c through the kernel's verifier and BPF_PROG_TEST_RUN: which frames it steers
// to AF_XDP, which it passes, and the counters it keeps. Needs root.
import test from "ava";
import {
  BpfObject,
  progTestRun,
  XdpAction,
  be16,
  u8,
  u32,
  u64,
  bytes,
  type BpfProgram,
  type TypedMap,
} from "libbpf-ts";
import {
  xdpCounters,
  endpointKey,
  ENDPOINT_BYTES,
  PORT_V4,
  PORT_V6,
  PORT_REPLY,
  type XdpCounter,
  XDP_MAPS,
  XDP_PROGRAMS,
} from "../../host/xdp/layout.js";
import { frame, arp } from "../support/frames.js";

let obj: BpfObject;
let prog: BpfProgram;
let counters: TypedMap<number, bigint>;

test.before(() => {
  obj = BpfObject.open("build/xdp/kvlb.bpf.o").load();
  prog = obj.program(XDP_PROGRAMS.steer);
  obj
    .map(XDP_MAPS.ports)
    .typed(be16, u8)
    .set(11211, PORT_V4 | PORT_V6);
  obj.map(XDP_MAPS.ports).typed(be16, u8).set(40000, PORT_REPLY);
  const backends = obj.map(XDP_MAPS.backends).typed(bytes(ENDPOINT_BYTES), u8);
  backends.set(endpointKey("10.0.2.2", 11211), 1);
  backends.set(endpointKey("fd00:2::2", 11211), 1);
  counters = obj.map(XDP_MAPS.counters).typed(u32, u64);
});
test.after.always(() => obj?.close());

function totals(): Record<XdpCounter, bigint> {
  return Object.fromEntries(
    xdpCounters.map((name, i) => [name, counters.getPerCpu(i).reduce((a, b) => a + b, 0n)]),
  ) as Record<XdpCounter, bigint>;
}

/** Runs one frame; returns the verdict and the counters that moved. */
function run(f: Buffer): { verdict: number; moved: Partial<Record<XdpCounter, bigint>>; data: Uint8Array } {
  const before = totals();
  const r = progTestRun(prog, f);
  const after = totals();
  const moved: Partial<Record<XdpCounter, bigint>> = {};
  for (const name of xdpCounters) if (after[name] !== before[name]) moved[name] = after[name] - before[name];
  return { verdict: r.verdict, moved, data: r.data };
}

// With no AF_XDP socket in xsks_map, a frame the program steers comes back XDP_PASS and is
// counted as pass_no_socket: that count is how these tests see the steering decision.
const steered = { pass_no_socket: 1n };

const cases: [string, Buffer, Partial<Record<XdpCounter, bigint>>][] = [
  ["IPv4 UDP to the memcached port", frame(), steered],
  ["IPv4 with 12 bytes of options", frame({ ipOptions: 12 }), steered],
  ["IPv6 UDP to the memcached port", frame({ v6: true }), steered],
  ["802.1Q-tagged IPv4", frame({ vlan: 42 }), steered],
  ["802.1Q-tagged IPv6", frame({ v6: true, vlan: 7 }), steered],
  ["a reply from an IPv4 backend", frame({ src: "10.0.2.2", sport: 11211, dport: 40000 }), steered],
  ["a reply from an IPv6 backend", frame({ v6: true, src: "fd00:2::2", sport: 11211, dport: 40000 }), steered],
  ["UDP from a non-backend address", frame({ src: "10.0.2.3", sport: 11211, dport: 40000 }), { pass_other_port: 1n }],
  [
    "a backend's answer to another port (kvlb's health probe)",
    frame({ src: "10.0.2.2", sport: 11211, dport: 40001 }),
    { pass_other_port: 1n },
  ],
  ["UDP to another port", frame({ dport: 53 }), { pass_other_port: 1n }],
  ["TCP to the memcached port", frame({ proto: 6 }), { pass_not_udp: 1n }],
  ["ICMP", frame({ proto: 1 }), { pass_not_udp: 1n }],
  ["ICMPv6", frame({ v6: true, proto: 58 }), { pass_not_udp: 1n }],
  ["ARP", arp(), { pass_not_ip: 1n }],
  ["an IPv4 first fragment (MF)", frame({ fragment: "more" }), { pass_fragment: 1n }],
  ["an IPv4 later fragment (offset)", frame({ fragment: 100 }), { pass_fragment: 1n }],
  ["an IPv6 fragment", frame({ v6: true, fragment: "more" }), { pass_fragment: 1n }],
  ["IPv6 with a hop-by-hop header", frame({ v6: true, v6Ext: [0] }), { pass_ipv6_ext: 1n }],
  ["an IPv4 Ethernet header with nothing after it", frame().subarray(0, 14), { pass_truncated: 1n }],
  ["an IPv4 header cut short", frame().subarray(0, 14 + 10), { pass_truncated: 1n }],
  ["IPv4 options cut short", frame({ ipOptions: 40 }).subarray(0, 14 + 30), { pass_truncated: 1n }],
  ["a UDP header cut short", frame().subarray(0, 14 + 20 + 4), { pass_truncated: 1n }],
  ["a VLAN tag cut short", frame({ vlan: 1 }).subarray(0, 16), { pass_truncated: 1n }],
  ["an IPv6 header cut short", frame({ v6: true }).subarray(0, 14 + 30), { pass_truncated: 1n }],
];

for (const [name, f, moved] of cases) {
  test.serial(`${name}: XDP_PASS, counted as ${Object.keys(moved).join(", ")}`, (t) => {
    const r = run(f);
    t.is(r.verdict, XdpAction.PASS);
    t.deepEqual(r.moved, moved);
  });
}

test.serial("malformed IPv4: a bad version, a header length under 5 words, a UDP length under 8", (t) => {
  const badVersion = frame();
  badVersion[14] = 0x55;
  const shortIhl = frame();
  shortIhl[14] = 0x44;
  const shortUdp = frame();
  shortUdp.writeUInt16BE(4, 14 + 20 + 4);
  for (const f of [badVersion, shortIhl, shortUdp]) t.deepEqual(run(f).moved, { pass_malformed: 1n });
});

test.serial("a passed frame leaves the program unchanged", (t) => {
  const f = frame({ dport: 53 });
  t.deepEqual(Buffer.from(run(f).data), f);
});

test.serial("ports and backends are configured through the maps", (t) => {
  const ports = obj.map(XDP_MAPS.ports).typed(be16, u8);
  t.deepEqual(run(frame({ dport: 11311 })).moved, { pass_other_port: 1n });
  ports.set(11311, PORT_V4);
  t.deepEqual(run(frame({ dport: 11311 })).moved, steered);
  t.deepEqual(run(frame({ dport: 11311, v6: true })).moved, { pass_other_port: 1n }, "IPv4 only");
  ports.set(11311, PORT_V6);
  t.deepEqual(run(frame({ dport: 11311 })).moved, { pass_other_port: 1n }, "IPv6 only");
  t.deepEqual(run(frame({ dport: 11311, v6: true })).moved, steered);
  t.true(ports.delete(11311));
  t.deepEqual(
    [...ports.keys()].sort((a, b) => a - b),
    [11211, 40000],
  );
  t.deepEqual(run(frame({ dport: 11311 })).moved, { pass_other_port: 1n });
});
