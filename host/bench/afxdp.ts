// npm run bench:afxdp: the same sender (bench/udp-blast.c, sendmmsg/recvmmsg with a window of
// gets in flight) against four arms, in namespaces that the run creates and removes:
//   direct    memcached in the balancer's namespace, no kvlb
//   socket    kvlb run (kernel UDP sockets) in front of memcached
//   afxdp     kvlb attach (native XDP + AF_XDP), the gets answered from kvlb's cache
//   reflector kvlb_reflect: XDP_TX straight back, the ceiling of this machine
// Rounds interleave the arms, so drift on a noisy VM hits all of them. Prints pps and ratios.
import { join } from "node:path";
import { Topology, waitForOutput, LB_ADDR, BACKEND_ADDR } from "../cluster/netns.js";
import { projectRoot } from "../util/paths.js";
import { count } from "../cli/table.js";

const seconds = Number(process.env["BENCH_SECONDS"] ?? 5);
const rounds = Number(process.env["BENCH_ROUNDS"] ?? 2);
const window = Number(process.env["BENCH_WINDOW"] ?? 64);
const KEYS = 8;
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

function send(topo: Topology, port: number, preload = false): Blast {
  const args = [blast, LB_ADDR, String(port), String(seconds), String(window), String(KEYS)];
  const out = topo.exec(topo.client, preload ? [...args, "preload"] : args, (seconds + 30) * 1000);
  return JSON.parse(out.trim()) as Blast;
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

async function arm(topo: Topology, which: Arm, first: boolean): Promise<Blast> {
  if (which === "direct") return send(topo, 11311, first);
  if (which === "socket")
    return withKvlb(topo, ["run", "--listen", `${LB_ADDR}:11211`], () => send(topo, 11211, first));
  if (which === "afxdp") return withKvlb(topo, ["attach", "l0,l1", "--mode", "native"], () => send(topo, 11211));
  topo.setXdp(topo.lb, "l0", "native", join(root, "build/xdp/reflect.bpf.o"));
  try {
    return send(topo, 11211);
  } finally {
    topo.clearXdp(topo.lb, "l0", "native");
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
    topo.create();
    topo.spawn(topo.backends, ["memcached", "-u", "root", "-U", "11211", "-p", "0", "-l", BACKEND_ADDR, "-t", "1"]);
    topo.spawn(topo.lb, ["memcached", "-u", "root", "-U", "11311", "-p", "0", "-l", LB_ADDR, "-t", "1"]);
    await new Promise((r) => setTimeout(r, 300));
    console.log(
      `bench:afxdp: ${rounds} rounds of ${seconds} s per arm; gets of ${KEYS} hot keys, ${window} in flight, ` +
        `one sender (sendmmsg) in the client namespace; kvlb on AF_XDP in native mode`,
    );
    const results = new Map<Arm, Blast[]>(arms.map((a) => [a, []]));
    for (let r = 0; r < rounds; r++) {
      for (const a of arms) {
        const b = await arm(topo, a, r === 0);
        results.get(a)?.push(b);
        console.log(`round ${r + 1} ${a.padEnd(9)} ${count(b.pps).padStart(9)} replies/s  (${count(b.lost)} re-sent)`);
      }
    }
    const mean = (a: Arm): number => {
      const list = results.get(a) ?? [];
      return list.reduce((s, b) => s + b.pps, 0) / Math.max(list.length, 1);
    };
    console.log("");
    for (const a of arms) console.log(`${a.padEnd(10)} ${count(mean(a)).padStart(9)} replies/s`);
    const ratio = (x: Arm, y: Arm): string => (mean(x) / mean(y)).toFixed(3);
    console.log("");
    console.log(`afxdp / reflector   ${ratio("afxdp", "reflector")}   (target >= 0.6)`);
    console.log(`afxdp / socket      ${ratio("afxdp", "socket")}   (target >= 2)`);
    console.log(`socket / direct     ${ratio("socket", "direct")}`);
    console.log(`afxdp / direct      ${ratio("afxdp", "direct")}`);
  } finally {
    topo.destroy();
  }
}

main().catch((e: unknown) => {
  console.error(`bench:afxdp: ${(e as Error).message}`);
  process.exit(1);
});
