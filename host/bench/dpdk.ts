// npm run bench:dpdk: the same sender against kvlb on its data paths, in the namespaces of
// bench:afxdp (namespace-bench.ts), all serving cache hits: the socket path, AF_XDP (kvlb
// attach), DPDK's net_af_xdp driver with kvlb's XDP program, and DPDK's net_af_packet driver
// with one worker and with two (--queues 2: af_packet's fanout spreads the sender's flows over
// two queues; net_af_xdp cannot have two queues on a veth). The sender uses 8 flows (BENCH_FLOWS).
import { existsSync } from "node:fs";
import { LB_ADDR } from "../testbed/netns.js";
import { dpdkAddonPath } from "../datapath/dpdk/native.js";
import { runBench, send, withKvlb, socketArm, afxdpArm, cli, ratio, type Arm } from "./namespace-bench.js";

const dpdkArm = (name: string, driver: "net_af_xdp" | "net_af_packet", queues: number): Arm => ({
  name,
  run: (topo) =>
    withKvlb(
      topo,
      [
        "run",
        "--datapath",
        "dpdk",
        "--port",
        `${driver}0,iface=l0`,
        "--port",
        `${driver}1,iface=l1`,
        "--queues",
        String(queues),
        "--listen",
        `${LB_ADDR}:11211`,
      ],
      () => send(topo, 11211, cli),
    ),
});

async function main(): Promise<void> {
  if (!existsSync(dpdkAddonPath))
    throw new Error("the DPDK addon is not built (apt-get install libdpdk-dev; bash scripts/setup)");
  process.env["BENCH_FLOWS"] ??= "8";
  const { pps, serverUs } = await runBench("bench:dpdk", [
    socketArm,
    afxdpArm,
    dpdkArm("dpdk", "net_af_xdp", 1),
    dpdkArm("packet1", "net_af_packet", 1),
    dpdkArm("packet2", "net_af_packet", 2),
  ]);
  console.log(`dpdk / socket       ${ratio(pps("dpdk") / pps("socket"))}   replies/s`);
  console.log(`dpdk / afxdp        ${ratio(pps("dpdk") / pps("afxdp"))}   replies/s`);
  console.log(`afxdp / socket      ${ratio(pps("afxdp") / pps("socket"))}   replies/s`);
  console.log(
    `afxdp / dpdk        ${ratio(serverUs("dpdk") / serverUs("afxdp"))}   kvlb's CPU per reply (dpdk's over afxdp's)`,
  );
  console.log(`packet2 / packet1    ${ratio(pps("packet2") / pps("packet1"))}   replies/s, 2 DPDK workers against 1`);
  console.log(
    `packet1 / dpdk      ${ratio(pps("packet1") / pps("dpdk"))}   replies/s, net_af_packet against net_af_xdp`,
  );
}

main().catch((e: unknown) => {
  console.error(`bench:dpdk: ${(e as Error).message}`);
  process.exit(1);
});
