// What bench:afxdp and bench:dpdk share: the namespaces with their memcached servers, one sender
// (bench/udp-blast.c) in the client namespace for every arm, kvlb started and stopped per arm,
// interleaved rounds (drift on a noisy VM hits every arm), and the table of replies/s and CPU
// per reply. Environment: BENCH_SECONDS, BENCH_ROUNDS, BENCH_WINDOW, BENCH_PEERS, BENCH_SENDER,
// BENCH_FLOWS.
import { join } from "node:path";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR, type PeerMode } from "../testbed/netns.js";
import { projectRoot } from "../util/paths.js";
import { count } from "../util/table.js";
import { processCpuSeconds, machineBusySeconds } from "./cpu-time.js";

export const seconds = Number(process.env["BENCH_SECONDS"] ?? 5);
export const rounds = Number(process.env["BENCH_ROUNDS"] ?? 2);
const window = Number(process.env["BENCH_WINDOW"] ?? 64);
const KEYS = 8;
/** The port of the memcached in the balancer's namespace, for the direct arm. */
export const DIRECT = "11311";
// The peers' receive mode for every arm that does not say otherwise (see PeerMode): GRO by
// default, the cheapest for the client's kernel, which shares the 2 CPUs with kvlb.
export const peers = (process.env["BENCH_PEERS"] ?? "gro") as PeerMode;
// How the sender sends: whole frames through AF_PACKET ("raw", the cheapest for its CPU, which
// saturates first), or through its UDP socket ("udp").
const sender = process.env["BENCH_SENDER"] ?? "raw";
const root = projectRoot();
const blast = join(root, "build/bench/udp-blast");
export const cli = join(root, "dist/host/cli/main.js");
const node = process.execPath;

interface Blast {
  replies: number;
  lost: number;
  seconds: number;
  pps: number;
}

export interface Run extends Blast {
  /** CPU µs per reply of the serving process (kvlb or memcached), softirqs it ran included */
  serverUs: number | null;
  /** busy CPU µs per reply over the whole machine: sender, kernel and server */
  machineUs: number;
}

export interface Arm {
  name: string;
  run(topo: Topology, first: boolean): Promise<Run>;
}

/** Source ports the sender spreads its window over (BENCH_FLOWS, read when the bench starts). */
const flows = (): number => Number(process.env["BENCH_FLOWS"] ?? 1);

export const setupLine = (): string =>
  `${rounds} rounds of ${seconds} s per arm; gets of ${KEYS} hot keys, ${window} in flight over ${flows()} flow(s), ` +
  `one sender (sendmmsg, ${sender}) in the client namespace; peers: ${peers}`;

function macOf(topo: Topology, ns: string, dev: string): string {
  const [link] = JSON.parse(topo.exec(ns, ["ip", "-j", "link", "show", "dev", dev])) as { address: string }[];
  if (!link) throw new Error(`${dev}: no such interface in ${ns}`);
  return link.address;
}

/** Runs the sender; `server` names the serving process in the lb namespace, to charge its CPU. */
export function send(topo: Topology, port: number, server: string | null, preload = false): Run {
  const args = [blast, LB_ADDR, String(port), String(seconds), String(window), String(KEYS)];
  if (preload) args.push("preload");
  if (sender === "raw") args.push("raw", "c0", macOf(topo, topo.lb, "l0"));
  const pids = server ? topo.pidsMatching(topo.lb, server) : [];
  const cpu0 = processCpuSeconds(pids);
  const busy0 = machineBusySeconds();
  process.env["BLAST_FLOWS"] = String(flows()); // ip netns exec passes the environment on
  const out = topo.exec(topo.client, args, (seconds + 30) * 1000);
  const busy = machineBusySeconds() - busy0;
  const cpu = processCpuSeconds(pids) - cpu0;
  const b = JSON.parse(out.trim()) as Blast;
  const perReply = (s: number): number => (s * 1e6) / Math.max(b.replies, 1);
  return { ...b, serverUs: server ? perReply(cpu) : null, machineUs: perReply(busy) };
}

/** Starts kvlb in the balancer's namespace with `args`, runs `run`, and stops kvlb. */
export async function withKvlb<T>(topo: Topology, args: string[], run: () => T): Promise<T> {
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

export const directArm: Arm = {
  name: "direct",
  run: (topo, first) => Promise.resolve(send(topo, 11311, DIRECT, first)),
};
export const socketArm: Arm = {
  name: "socket",
  run: (topo, first) => withKvlb(topo, ["run", "--listen", `${LB_ADDR}:11211`], () => send(topo, 11211, cli, first)),
};
export const afxdpArm: Arm = {
  name: "afxdp",
  run: (topo) => withKvlb(topo, ["attach", "l0,l1", "--mode", "native"], () => send(topo, 11211, cli)),
};

/**
 * Creates the namespaces, runs the rounds, prints each run and the table, and removes the
 * namespaces. Returns the mean replies/s and server CPU per reply of each arm, for the ratios.
 */
export async function runBench(
  title: string,
  arms: Arm[],
): Promise<{ pps: (arm: string) => number; serverUs: (arm: string) => number }> {
  if (process.getuid?.() !== 0) throw new Error(`${title} needs root: it creates namespaces and attaches XDP`);
  if (!["xdp", "gro", "plain"].includes(peers)) throw new Error(`BENCH_PEERS=${peers}: use xdp, gro or plain`);
  if (!["raw", "udp"].includes(sender)) throw new Error(`BENCH_SENDER=${sender}: use raw or udp`);
  if (!(flows() >= 1 && flows() <= 64)) throw new Error(`BENCH_FLOWS=${flows()}: use 1 to 64`);
  const topo = new Topology(`bench-${process.pid}`);
  process.once("SIGINT", () => {
    topo.destroy();
    process.exit(130);
  });
  const results = new Map<string, Run[]>(arms.map((a) => [a.name, []]));
  try {
    topo.create(peers);
    topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", "11211", "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
    topo.spawn(topo.lb, ["memcached", "-u", "root", "-U", DIRECT, "-p", "0", "-l", LB_ADDR, "-t", "1"]);
    await new Promise((r) => setTimeout(r, 300));
    console.log(`${title}: ${setupLine()}`);
    for (let r = 0; r < rounds; r++) {
      for (const a of arms) {
        const b = await a.run(topo, r === 0);
        results.get(a.name)?.push(b);
        console.log(
          `round ${r + 1} ${a.name.padEnd(9)} ${count(b.pps).padStart(9)} replies/s  (${count(b.lost)} re-sent)`,
        );
      }
    }
  } finally {
    topo.destroy();
  }
  const mean = (a: string, of: (b: Run) => number): number => {
    const list = results.get(a) ?? [];
    return list.reduce((s, b) => s + of(b), 0) / Math.max(list.length, 1);
  };
  const pps = (a: string): number => mean(a, (b) => b.pps);
  const serverUs = (a: string): number => mean(a, (b) => b.serverUs ?? NaN);
  const us = (v: number): string => (Number.isNaN(v) ? "-" : v.toFixed(2)).padStart(8);
  console.log("");
  console.log(`arm         replies/s   server CPU µs/reply   machine CPU µs/reply`);
  for (const { name } of arms) {
    console.log(
      `${name.padEnd(10)} ${count(pps(name)).padStart(10)}   ${us(serverUs(name))}              ${us(mean(name, (b) => b.machineUs))}`,
    );
  }
  console.log("");
  return { pps, serverUs };
}

export const ratio = (v: number): string => v.toFixed(3);
