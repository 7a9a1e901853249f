// Three network namespaces for the AF_XDP path (its tests, its benchmark and the demo), created
// per run and always removed: client (c0 10.10.1.2) -- lb (l0 10.10.1.1, l1 10.10.2.1) -- backends (b0
// 10.10.2.2). The peers carry kvlb's pass-through XDP program, which native XDP on veth needs
// to deliver redirected frames, and send with tx checksum offload off.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { projectRoot } from "../util/paths.js";
import { XDP_PROGRAMS } from "../xdp/layout.js";

export const CLIENT_ADDR = "10.10.1.2";
export const LB_ADDR = "10.10.1.1";
export const LB_BACKEND_ADDR = "10.10.2.1";
export const BACKEND_ADDR = "10.10.2.2";
const XDP_OBJECT = join(projectRoot(), "build/xdp/kvlb.bpf.o");

const ip = (...args: string[]): string =>
  execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

/**
 * How the client's and the backends' veths receive:
 * - "xdp": kvlb's pass-through program, which a native XDP_TX or redirect into a veth needs;
 * - "gro": GRO on, so the veth polls with NAPI and takes skbs in batches, without the copy into
 *   page-pool pages that an XDP program costs for every skb;
 * - "plain": neither (every skb through the backlog).
 * kvlb's AF_XDP sockets send in copy mode on veth (skbs), so kvlb works with all three.
 */
export type PeerMode = "xdp" | "gro" | "plain";

export class Topology {
  readonly client: string;
  readonly lb: string;
  readonly backends: string;

  constructor(tag: string) {
    this.client = `kvlbt-c-${tag}`;
    this.lb = `kvlbt-l-${tag}`;
    this.backends = `kvlbt-b-${tag}`;
  }

  create(peers: PeerMode = "xdp"): this {
    for (const ns of [this.client, this.lb, this.backends]) ip("netns", "add", ns);
    ip("link", "add", "c0", "netns", this.client, "type", "veth", "peer", "name", "l0", "netns", this.lb);
    ip("link", "add", "l1", "netns", this.lb, "type", "veth", "peer", "name", "b0", "netns", this.backends);
    const up: [string, string, string][] = [
      [this.client, "c0", `${CLIENT_ADDR}/24`],
      [this.lb, "l0", `${LB_ADDR}/24`],
      [this.lb, "l1", `${LB_BACKEND_ADDR}/24`],
      [this.backends, "b0", `${BACKEND_ADDR}/24`],
    ];
    for (const [ns, dev, addr] of up) {
      ip("-n", ns, "addr", "add", addr, "dev", dev);
      ip("-n", ns, "link", "set", dev, "up");
      ip("-n", ns, "link", "set", "lo", "up");
    }
    for (const [ns, dev] of [
      [this.client, "c0"],
      [this.backends, "b0"],
    ] as const) {
      this.exec(ns, ["ethtool", "-K", dev, "tx", "off"]);
    }
    this.setPeers(peers);
    return this;
  }

  setPeers(mode: PeerMode): void {
    for (const [ns, dev] of [
      [this.client, "c0"],
      [this.backends, "b0"],
    ] as const) {
      if (mode === "xdp") this.setXdp(ns, dev, "native", XDP_OBJECT, XDP_PROGRAMS.pass);
      else this.clearXdp(ns, dev, "native");
      this.exec(ns, ["ethtool", "-K", dev, "gro", mode === "gro" ? "on" : "off"]);
    }
  }

  /** Attaches `program` (the object's first one if not named) with iproute2, or detaches. */
  setXdp(ns: string, dev: string, mode: "native" | "generic", object: string, program?: string): void {
    const flag = mode === "native" ? "xdpdrv" : "xdpgeneric";
    ip(
      "-n",
      ns,
      "link",
      "set",
      "dev",
      dev,
      flag,
      "obj",
      object,
      "sec",
      "xdp",
      ...(program ? ["program", program] : []),
    );
  }

  clearXdp(ns: string, dev: string, mode: "native" | "generic"): void {
    ip("-n", ns, "link", "set", "dev", dev, mode === "native" ? "xdpdrv" : "xdpgeneric", "off");
  }

  exec(ns: string, args: string[], timeoutMs = 30_000): string {
    return execFileSync("ip", ["netns", "exec", ns, ...args], {
      encoding: "utf8",
      timeout: timeoutMs,
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  /** `group`: in a process group of its own, which a test may signal whole, as systemctl does. */
  spawn(ns: string, args: string[], group = false): ChildProcess {
    return spawn("ip", ["netns", "exec", ns, ...args], { stdio: ["ignore", "pipe", "pipe"], detached: group });
  }

  /** PIDs of the processes running in a namespace (ip netns exec forks them). */
  pids(ns: string): number[] {
    try {
      return ip("netns", "pids", ns).split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  }

  signal(ns: string, signal: NodeJS.Signals): void {
    for (const pid of this.pids(ns)) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  /** PIDs of the processes in a namespace whose command line contains `match`. */
  pidsMatching(ns: string, match: string): number[] {
    return this.pids(ns).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(match);
      } catch {
        return false; // gone
      }
    });
  }

  /** Signals the processes in a namespace whose command line contains `match`. */
  signalMatching(ns: string, match: string, signal: NodeJS.Signals): number {
    let n = 0;
    for (const pid of this.pidsMatching(ns, match)) {
      try {
        process.kill(pid, signal);
        n++;
      } catch {
        // gone
      }
    }
    return n;
  }

  /** Kills what runs in the namespaces and deletes them; safe to call twice. */
  destroy(): void {
    for (const ns of [this.client, this.lb, this.backends]) {
      this.signal(ns, "SIGKILL");
      try {
        ip("netns", "del", ns);
      } catch {
        // not there
      }
    }
  }
}

/** Resolves with the child's output once `pattern` appears in it; rejects when it exits first. */
export function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), timeoutMs);
    const look = (d: Buffer): void => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        resolve(seen);
      }
    };
    child.stdout?.on("data", look);
    child.stderr?.on("data", look);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}: ${seen}`));
    });
  });
}
