// Run inside a test's namespace: binds a real AF_XDP socket (its UMEM in a WebAssembly
// memory) to an interface's queue 0, puts it in kvlb_steer's xsks_map, and runs crafted frames
// through the program. Prints each frame's verdict as JSON.
import { BpfObject, XskSet, progTestRun, be16, u8, u32, bytes, xdpActionName } from "libbpf-ts";
import { frame } from "./frames.js";
import {
  endpointKey,
  ENDPOINT_BYTES,
  PORT_V4,
  PORT_V6,
  PORT_REPLY,
  XDP_MAPS,
  XDP_PROGRAMS,
} from "../../host/xdp/layout.js";

const [ifname = "va"] = process.argv.slice(2);
const obj = BpfObject.open("build/xdp/kvlb.bpf.o").load();
obj
  .map(XDP_MAPS.ports)
  .typed(be16, u8)
  .set(11211, PORT_V4 | PORT_V6);
obj.map(XDP_MAPS.ports).typed(be16, u8).set(40001, PORT_REPLY); // where kvlb's requests to the backends leave from
obj.map(XDP_MAPS.backends).typed(bytes(ENDPOINT_BYTES), u8).set(endpointKey("10.0.2.2", 11211), 1);
const memory = new WebAssembly.Memory({ initial: 64 });
const view = new DataView(memory.buffer);
const FRAMES = 64;
const POOL = 4096;
view.setUint32(POOL, FRAMES, true);
view.setUint32(POOL + 4, FRAMES, true);
for (let i = 0; i < FRAMES; i++) view.setUint32(POOL + 8 + 4 * i, i * 2048, true);
const set = new XskSet(new Uint8Array(memory.buffer), {
  umemOffset: 65536,
  umemBytes: FRAMES * 2048,
  frameSize: 2048,
  poolOffset: POOL,
  fillSize: 32,
  compSize: 32,
});
const socket = set.add(ifname, 0, { rxSize: 32, txSize: 32 });
const xsks = obj.map(XDP_MAPS.xsks).typed(u32, u32);
const cases = {
  ipv4: frame(),
  ipv6: frame({ v6: true }),
  vlan: frame({ vlan: 7 }),
  reply: frame({ src: "10.0.2.2", sport: 11211, dport: 40001 }),
  tcp: frame({ proto: 6 }),
  otherPort: frame({ dport: 53 }),
};
const verdicts = (): Record<string, string> =>
  Object.fromEntries(
    Object.entries(cases).map(([k, f]) => [k, xdpActionName(progTestRun(obj.program(XDP_PROGRAMS.steer), f).verdict)]),
  );
xsks.set(0, socket.fd);
const withSocket = verdicts();
xsks.delete(0);
const without = verdicts();
set.close();
console.log(JSON.stringify({ withSocket, without, poolAfterFill: view.getUint32(POOL, true) }));
