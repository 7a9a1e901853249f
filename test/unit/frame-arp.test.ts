// ARP in the core, for ports that no kernel serves (a NIC bound to DPDK): requests for a port's
// address are answered in their own frame, senders are learned as next hops, and the host has
// the core ask every port for the backends' addresses.
import test from "ava";
import { arp, parseArp, parseFrame } from "../support/frames.js";
import {
  frameBalancer,
  FRAMES,
  CLIENT_MAC,
  at,
  fromClient,
  backendAt,
  withoutFillAsks,
} from "../support/frame-balancer.js";
import { setFrameMode, askArp } from "../../host/core/frame-tables.js";
import { routeKey } from "../../host/core/backends.js";

const PORT0_MAC = "02:00:00:00:01:01";
const PORT1_MAC = "02:00:00:00:01:02";

async function bare(): ReturnType<typeof frameBalancer> {
  const b = await frameBalancer();
  b.core.exports.neigh_clear(); // no kernel told it anything
  setFrameMode(b.core, { repliesViaKernel: false, answerArp: true });
  return b;
}

test("a request for a port's address is answered on that port, in the frame it came in", async (t) => {
  const { core, io } = await bare();
  const out = io.burst([arp({ senderMac: CLIENT_MAC, senderIp: "10.0.1.2", targetIp: "10.0.1.1" })]);
  t.is(out.length, 1);
  t.is(at(out, 0).port, 0);
  t.true(at(out, 0).bytes.length >= 60, "padded to Ethernet's minimum");
  t.deepEqual(parseArp(at(out, 0).bytes), {
    dstMac: CLIENT_MAC,
    srcMac: PORT0_MAC,
    op: 2,
    senderMac: PORT0_MAC,
    senderIp: "10.0.1.1",
    targetMac: CLIENT_MAC,
    targetIp: "10.0.1.2",
  });
  t.is(core.stats()["arp_answered"], 1n);
  t.is(io.poolCount, FRAMES, "the answer's frame came back after it was sent");
});

test("a request for another address gets no answer, but its sender is learned", async (t) => {
  const { core, io } = await bare();
  t.is(io.burst([arp({ senderMac: CLIENT_MAC, senderIp: "10.0.1.7", targetIp: "10.0.1.99" })]).length, 0);
  t.is(core.stats()["arp_answered"], 0n);
  // a reply to 10.0.1.7 now leaves as a frame, to the MAC its ARP request carried
  const out = io.burst([fromClient(5, "bogus\r\n")]);
  t.is(parseFrame(at(out, 0).bytes).dstMac, CLIENT_MAC);
});

test("the backends are asked for on every port; the answer on port 1 routes their traffic there", async (t) => {
  const { core, io } = await bare();
  const backend = backendAt(routeKey(core, "k"));
  askArp(core, [backend.address]);
  const asked = io.collect();
  t.is(asked.length, 2, "one broadcast per port");
  for (const [i, f] of asked.entries()) {
    const a = parseArp(f.bytes);
    t.is(f.port, i);
    t.is(a.dstMac, "ff:ff:ff:ff:ff:ff");
    t.is(a.op, 1);
    t.is(a.targetIp, backend.address);
    t.is(a.senderIp, i === 0 ? "10.0.1.1" : "10.0.2.254", "from the port's own address");
  }
  t.is(io.poolCount, FRAMES);

  // before an answer, a miss has no next hop: it is left for the kernel's socket
  t.is(io.burst([fromClient(6, "get k\r\n")]).length, 0);
  const answerMac = "02:00:00:00:09:09";
  io.burst([arp({ op: 2, senderMac: answerMac, senderIp: backend.address, targetIp: "10.0.2.254" })], 1);
  const out = withoutFillAsks(io.burst([fromClient(7, "get k\r\n")]));
  t.is(out.length, 1);
  t.is(at(out, 0).port, 1, "out the port whose segment answered");
  const fwd = parseFrame(at(out, 0).bytes);
  t.is(fwd.dstMac, answerMac);
  t.is(fwd.srcMac, PORT1_MAC);
  t.is(fwd.dst, backend.address);
});

test("without the mode, ARP is not the core's: malformed on the XDP path, the kernel's on af_packet", async (t) => {
  const { core, io } = await frameBalancer();
  const request = arp({ senderMac: CLIENT_MAC, senderIp: "10.0.1.2", targetIp: "10.0.1.1" });
  t.is(io.burst([request]).length, 0);
  t.is(core.stats()["frame_malformed"], 1n);
  setFrameMode(core, { repliesViaKernel: true, kernelSeesFrames: { wholeMax: 1472 } });
  t.is(io.burst([request]).length, 0);
  t.is(core.stats()["frame_not_ours"], 1n);
  t.is(core.stats()["arp_answered"], 0n);
});
