// npm run bench:dpdk: the same sender against kvlb on its three data paths, in the namespaces of
// bench:afxdp (namespace-bench.ts): the socket path, AF_XDP (kvlb attach), and DPDK's
// net_af_xdp driver with kvlb's XDP program (kvlb run --datapath dpdk), all serving cache hits.
import { existsSync } from "node:fs";
import { LB_ADDR } from "../cluster/netns.js";
import { dpdkAddonPath } from "../datapath/dpdk/native.js";
import { runBench, send, withKvlb, socketArm, afxdpArm, cli, ratio, type Arm } from "./namespace-bench.js";

const dpdkArm: Arm = {
  name: "dpdk",
  run: (topo) =>
    withKvlb(
      topo,
      [
        "run",
        "--datapath",
        "dpdk",
        "--port",
        "net_af_xdp0,iface=l0",
        "--port",
        "net_af_xdp1,iface=l1",
        "--listen",
        `${LB_ADDR}:11211`,
      ],
      () => send(topo, 11211, cli),
    ),
};

async function main(): Promise<void> {
  if (!existsSync(dpdkAddonPath))
    throw new Error("the DPDK addon is not built (apt-get install libdpdk-dev; bash scripts/setup)");
  const { pps, serverUs } = await runBench("bench:dpdk", [socketArm, afxdpArm, dpdkArm]);
  console.log(`dpdk / socket       ${ratio(pps("dpdk") / pps("socket"))}   replies/s`);
  console.log(`dpdk / afxdp        ${ratio(pps("dpdk") / pps("afxdp"))}   replies/s`);
  console.log(`afxdp / socket      ${ratio(pps("afxdp") / pps("socket"))}   replies/s`);
  console.log(
    `afxdp / dpdk        ${ratio(serverUs("dpdk") / serverUs("afxdp"))}   kvlb's CPU per reply (dpdk's over afxdp's)`,
  );
  console.log("2 workers against 1: not measured yet; kvlb runs one DPDK worker (--queues 1)");
}

main().catch((e: unknown) => {
  console.error(`bench:dpdk: ${(e as Error).message}`);
  process.exit(1);
});
