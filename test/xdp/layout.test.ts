// host/xdp/layout.ts against xdp/kvlb.h: the counter order, the sizes and the limits.
import test from "ava";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import {
  xdpCounters,
  ENDPOINT_BYTES,
  MAX_PORTS,
  PORT_V4,
  PORT_V6,
  MAX_BACKENDS,
  MAX_QUEUES,
  endpointKey,
  XDP_MAPS,
  XDP_PROGRAMS,
} from "../../host/xdp/layout.js";
import { BpfObject } from "libbpf-ts";

const header = readFileSync("xdp/kvlb.h", "utf8");

test("the counters are named and numbered as in kvlb.h", (t) => {
  const entries = [...header.matchAll(/^\s*KVLB_([A-Z0-9_]+) = (\d+),/gm)].map(
    (m) => [m[1] ?? "", Number(m[2])] as const,
  );
  const counters = entries.filter(([name]) => name !== "COUNTERS");
  t.deepEqual(
    counters.map(([name]) => name.toLowerCase()),
    [...xdpCounters],
  );
  t.deepEqual(
    counters.map(([, n]) => n),
    xdpCounters.map((_, i) => i),
  );
  t.is(entries.find(([name]) => name === "COUNTERS")?.[1], xdpCounters.length);
});

test("limits and the endpoint key match kvlb.h", (t) => {
  const define = (name: string): number => Number(new RegExp(`#define ${name} (\\d+)`).exec(header)?.[1]);
  t.is(define("KVLB_MAX_PORTS"), MAX_PORTS);
  t.is(define("KVLB_PORT_V4"), PORT_V4);
  t.is(define("KVLB_PORT_V6"), PORT_V6);
  t.is(define("KVLB_MAX_BACKENDS"), MAX_BACKENDS);
  t.is(define("KVLB_MAX_QUEUES"), MAX_QUEUES);
  t.regex(header, /struct kvlb_endpoint \{\s*__u8 addr\[16\];[^}]*__u16 port;[^}]*__u8 family;[^}]*__u8 pad;/s);
  t.is(ENDPOINT_BYTES, 16 + 2 + 1 + 1);
  t.deepEqual([...endpointKey("10.0.0.2", 11211)], [10, 0, 0, 2, ...new Array(12).fill(0), 0x2b, 0xcb, 4, 0]);
  t.deepEqual([...endpointKey("fd00::2", 80).subarray(0, 2)], [0xfd, 0x00]);
  t.is(endpointKey("fd00::2", 80)[15], 2);
});

test("the program calls only helpers that Linux 6.1 has (Debian 12's kernel)", (t) => {
  const dump = execFileSync("llvm-objdump", ["-d", "build/xdp/kvlb.bpf.o"], { encoding: "utf8" });
  const helpers = new Set([...dump.matchAll(/\bcall (\d+)\b/g)].map((m) => Number(m[1])));
  t.true(helpers.size > 0, "the disassembly shows the helper calls");
  // 209, bpf_user_ringbuf_drain, is the last helper of Linux 6.1; 6.2 starts at 210.
  for (const id of helpers) t.true(id <= 209, `helper ${id} is newer than Linux 6.1`);
  t.false(/call -1|kfunc/.test(dump), "no kfuncs");
});

test("the map and program names are kvlb.h's, and the built object has each of them", (t) => {
  const names = [...header.matchAll(/^#define KVLB_(MAP|PROG)_([A-Z]+) "([a-z_]+)"$/gm)].map((m) => m[3]);
  t.deepEqual(names.sort(), [...Object.values(XDP_MAPS), ...Object.values(XDP_PROGRAMS)].sort());
  const obj = BpfObject.open("build/xdp/kvlb.bpf.o").load(); // the verifier's, as root
  try {
    for (const m of Object.values(XDP_MAPS)) t.notThrows(() => obj.map(m), `map ${m}`);
    for (const p of Object.values(XDP_PROGRAMS)) t.notThrows(() => obj.program(p), `program ${p}`);
    t.throws(() => obj.map("no_such_map"), undefined, "a name the object lacks is refused");
  } finally {
    obj.close();
  }
});
