// npm run bench:afxdp: the same sender (bench/udp-blast.c, sendmmsg/recvmmsg with a window of
// gets in flight) against four arms, in namespaces that the run creates and removes:
//   direct    memcached in the balancer's namespace, no kvlb
//   socket    kvlb run (kernel UDP sockets) in front of memcached
//   afxdp     kvlb attach (native XDP + AF_XDP), the gets answered from kvlb's cache
//   reflector kvlb_reflect: XDP_TX straight back. All of its work (the request through l0's XDP
//             and the reply through the client's stack) runs in the sender's softirq, so it is
//             what one CPU moves with no balancer at all, not the most the machine moves.
// Rounds interleave the arms, so drift on a noisy VM hits all of them. Prints replies/s, the CPU
// each server and the whole machine spend per reply, and the ratios.
import { join } from "node:path";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR, type PeerMode } from "../cluster/netns.js";
import { projectRoot } from "../util/paths.js";
import { count } from "../cli/table.js";
import { processCpuSeconds, machineBusySeconds } from "./cpu-time.js";

const seconds = Number(process.env["BENCH_SECONDS"] ?? 5);
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 2);
const window = Number(process.env["BENCH_WINDOW"] ?? 64);
const KEYS = 8;
const DIRECT = "11311"; // the port of the memcached that the direct arm talks to
// The peers' receive mode for every arm but the reflector (see PeerMode): GRO by default, the
// cheapest for the client's kernel, which shares the 2 CPUs with kvlb.
const peers = (process.env["BENCH_PEERS"] ?? "gro") as PeerMode;
// How the sender sends: whole frames through AF_PACKET ("raw", the cheapest for its CPU, which
// saturates first), or through its UDP socket ("udp").
const sender = process.env["BENCH_SENDER"] ?? "raw";
const root = projectRoot();
const blast = join(root, "build/bench/udp-blast");
const cli = join(root, "dist/host/cli/main.js");
const node = process.execPath;

type Arm = "direct" | "socket" | "afxdp" | "reflector";
const arms: Arm[] = ["direct", "socket", "afxdp", "reflector"];

interface Blast {
  replies: number;
  lost: number;
  seconds: number;
  pps: number;
}

interface Run extends Blast {
  /** CPU µs per reply of the serving process (kvlb or memcached), softirqs it ran included */
  serverUs: number | null;
  /** busy CPU µs per reply over the whole machine: sender, kernel and server */
  machineUs: number;
}

/** Runs the sender; `server` names the serving process in the lb namespace, to charge its CPU. */
function send(topo: Topology, port: number, server: string | null, preload = false): Run {
  const args = [blast, LB_ADDR, String(port), String(seconds), String(window), String(KEYS)];
  if (preload) args.push("preload");
  if (sender === "raw") args.push("raw", "c0", macOf(topo, topo.lb, "l0"));
  const pids = server ? topo.pidsMatching(topo.lb, server) : [];
  const cpu0 = processCpuSeconds(pids);
  const busy0 = machineBusySeconds();
  const out = topo.exec(topo.client, args, (seconds + 30) * 1000);
  const busy = machineBusySeconds() - busy0;
  const cpu = processCpuSeconds(pids) - cpu0;
  const b = JSON.parse(out.trim()) as Blast;
  const perReply = (s: number): number => (s * 1e6) / Math.max(b.replies, 1);
  return { ...b, serverUs: server ? perReply(cpu) : null, machineUs: perReply(busy) };
}

function macOf(topo: Topology, ns: string, dev: string): string {
  const [link] = JSON.parse(topo.exec(ns, ["ip", "-j", "link", "show", "dev", dev])) as { address: string }[];
  if (!link) throw new Error(`${dev}: no such interface in ${ns}`);
  return link.address;
}

async function withKvlb<T>(topo: Topology, args: string[], run: () => T): Promise<T> {
  const kvlb = topo.spawn(topo.lb, [node, cli, ...args, "--backend", `${BACKEND_ADDR}:11211`, "--admin", "off"]);
  await waitForOutput(kvlb, /kvlb is (attached and )?balancing/);
  try {
    return run();
  } finally {
    const exited = new Promise((r) => kvlb.once("exit", r));
    topo.signalMatching(topo.lb, cli, "SIGTERM");
    await exited;
  }
}

async function arm(topo: Topology, which: Arm, first: boolean): Promise<Run> {
  if (which === "direct") return send(topo, 11311, DIRECT, first);
  if (which === "socket")
    return withKvlb(topo, ["run", "--listen", `${LB_ADDR}:11211`], () => send(topo, 11211, cli, first));
  if (which === "afxdp") return withKvlb(topo, ["attach", "l0,l1", "--mode", "native"], () => send(topo, 11211, cli));
  // XDP_TX into a veth needs a program on the peer; only this arm needs one.
  if (peers !== "xdp") topo.setPeers("xdp");
  topo.setXdp(topo.lb, "l0", "native", join(root, "build/xdp/reflect.bpf.o"));
  try {
    return send(topo, 11211, null);
  } finally {
    topo.clearXdp(topo.lb, "l0", "native");
    if (peers !== "xdp") topo.setPeers(peers);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("bench:afxdp needs root: it creates namespaces and attaches XDP");
  const topo = new Topology(`bench-${process.pid}`);
  const stop = (): void => {
    topo.destroy();
    process.exit(130);
  };
  process.once("SIGINT", stop);
  try {
    if (!["xdp", "gro", "plain"].includes(peers)) throw new Error(`BENCH_PEERS=${peers}: use xdp, gro or plain`);
    if (!["raw", "udp"].includes(sender)) throw new Error(`BENCH_SENDER=${sender}: use raw or udp`);
    topo.create(peers);
    topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", "11211", "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
    topo.spawn(topo.lb, ["memcached", "-u", "root", "-U", DIRECT, "-p", "0", "-l", LB_ADDR, "-t", "1"]);
    await new Promise((r) => setTimeout(r, 300));
    console.log(
      `bench:afxdp: ${rounds} rounds of ${seconds} s per arm; gets of ${KEYS} hot keys, ${window} in flight, ` +
        `one sender (sendmmsg, ${sender}) in the client namespace; kvlb on AF_XDP in native mode; ` +
        `peers: ${peers} (the reflector's: xdp)`,
    );
    const results = new Map<Arm, Run[]>(arms.map((a) => [a, []]));
    for (let r = 0; r < rounds; r++) {
      for (const a of arms) {
        const b = await arm(topo, a, r === 0);
        results.get(a)?.push(b);
        console.log(`round ${r + 1} ${a.padEnd(9)} ${count(b.pps).padStart(9)} replies/s  (${count(b.lost)} re-sent)`);
      }
    }
    const mean = (a: Arm, of: (b: Run) => number): number => {
      const list = results.get(a) ?? [];
      return list.reduce((s, b) => s + of(b), 0) / Math.max(list.length, 1);
    };
    const pps = (a: Arm): number => mean(a, (b) => b.pps);
    const serverUs = (a: Arm): number => mean(a, (b) => b.serverUs ?? NaN);
    const us = (v: number): string => (Number.isNaN(v) ? "-" : v.toFixed(2)).padStart(8);
    console.log("");
    console.log(`arm         replies/s   server CPU µs/reply   machine CPU µs/reply`);
    for (const a of arms) {
      console.log(
        `${a.padEnd(10)} ${count(pps(a)).padStart(10)}   ${us(serverUs(a))}              ${us(mean(a, (b) => b.machineUs))}`,
      );
    }
    const fixed = (v: number): string => v.toFixed(3);
    console.log("");
    console.log(`afxdp / reflector   ${fixed(pps("afxdp") / pps("reflector"))}   replies/s (target >= 0.6)`);
    console.log(`afxdp / socket      ${fixed(pps("afxdp") / pps("socket"))}   replies/s (target >= 2)`);
    console.log(`reflector / socket  ${fixed(pps("reflector") / pps("socket"))}   replies/s`);
    console.log(`socket / afxdp      ${fixed(serverUs("socket") / serverUs("afxdp"))}   kvlb's CPU per reply`);
    console.log(`socket / direct     ${fixed(pps("socket") / pps("direct"))}   replies/s`);
    console.log(`afxdp / direct      ${fixed(pps("afxdp") / pps("direct"))}   replies/s`);
  } finally {
    topo.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(`bench:afxdp: ${(e as Error).message}`);
  process.exit(1);
});
