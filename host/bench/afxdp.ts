// npm run bench:afxdp: the same sender against four arms, in namespaces that the run creates
// and removes (namespace-bench.ts):
//   direct    memcached in the balancer's namespace, no kvlb
//   socket    kvlb run (kernel UDP sockets) in front of memcached
//   afxdp     kvlb attach (native XDP + AF_XDP), the gets answered from kvlb's cache
//   reflector kvlb_reflect: XDP_TX straight back. All of its work (the request through l0's XDP
//             and the reply through the client's stack) runs in the sender's softirq, so it is
//             what one CPU moves with no balancer at all, not the most the machine moves.
import { join } from "node:path";
import { projectRoot } from "../util/paths.js";
import { runBench, send, directArm, socketArm, afxdpArm, peers, ratio, type Arm } from "./namespace-bench.js";

const reflectorArm: Arm = {
  name: "reflector",
  run: (topo) => {
    // XDP_TX into a veth needs a program on the peer; only this arm needs one.
    if (peers !== "xdp") topo.setPeers("xdp");
    topo.setXdp(topo.lb, "l0", "native", join(projectRoot(), "build/xdp/reflect.bpf.o"));
    try {
      return Promise.resolve(send(topo, 11211, null));
    } finally {
      topo.clearXdp(topo.lb, "l0", "native");
      if (peers !== "xdp") topo.setPeers(peers);
    }
  },
};

async function main(): Promise<void> {
  const { pps, serverUs } = await runBench("bench:afxdp", [directArm, socketArm, afxdpArm, reflectorArm]);
  console.log("(the reflector's peers: xdp)");
  console.log(`afxdp / reflector   ${ratio(pps("afxdp") / pps("reflector"))}   replies/s (target >= 0.6)`);
  console.log(`afxdp / socket      ${ratio(pps("afxdp") / pps("socket"))}   replies/s (target >= 2)`);
  console.log(`reflector / socket  ${ratio(pps("reflector") / pps("socket"))}   replies/s`);
  console.log(`socket / afxdp      ${ratio(serverUs("socket") / serverUs("afxdp"))}   kvlb's CPU per reply`);
  console.log(`socket / direct     ${ratio(pps("socket") / pps("direct"))}   replies/s`);
  console.log(`afxdp / direct      ${ratio(pps("afxdp") / pps("direct"))}   replies/s`);
}

main().catch((e: unknown) => {
  console.error(`bench:afxdp: ${(e as Error).message}`);
  process.exit(1);
});
