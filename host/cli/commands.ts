// Every kvlb command: its name, its line in `kvlb --help`, its options (`kvlb NAME --help`), and
// what runs it. main.ts only parses the command name and dispatches through this table.
import { createLogger } from "../log.js";
import { runCommand, runUsage } from "./run.js";
import { attachCommand, attachUsage } from "./attach.js";
import { statusCommand, detachCommand, statusUsage, detachUsage } from "./xdp-status.js";
import { statsCommand, statsUsage } from "./stats.js";
import { topCommand, topUsage } from "./top.js";
import { loadCommand, loadUsage } from "./load.js";
import { swapCommand, swapUsage } from "./swap.js";
import { flushCommand, flushUsage } from "./flush.js";
import { reloadCommand, reloadUsage } from "./reload.js";
import { demoCommand, demoUsage, detectDemoCommand, detectDemoUsage } from "./demo.js";

export interface Command {
  name: string;
  /** How it is called, for the help. */
  synopsis: string;
  summary: string;
  /** Its options, as `kvlb NAME --help` prints them. */
  usage: string;
  run(args: string[]): Promise<number>;
}

export const commands: readonly Command[] = [
  {
    name: "run",
    synopsis: "kvlb run [options]",
    summary: "balance memcached UDP (and TCP, on kernel sockets) over --backend servers (or --datapath dpdk)",
    usage: runUsage,
    run: (args) => runCommand(args, createLogger()),
  },
  {
    name: "attach",
    synopsis: "kvlb attach <iface>[,<iface>...] [options]",
    summary: "the same, on AF_XDP: kvlb's XDP program steers memcached UDP to it",
    usage: attachUsage,
    run: (args) => attachCommand(args, createLogger()),
  },
  {
    name: "detach",
    synopsis: "kvlb detach <iface> [--force]",
    summary: "remove kvlb's XDP program (kvlb attach does this itself on exit)",
    usage: detachUsage,
    run: async (args) => detachCommand(args),
  },
  {
    name: "status",
    synopsis: "kvlb status [options]",
    summary: "the XDP program, its mode and its counters on each interface",
    usage: statusUsage,
    run: statusCommand,
  },
  {
    name: "stats",
    synopsis: "kvlb stats [options]",
    summary: "a running kvlb's counters, for a person",
    usage: statsUsage,
    run: statsCommand,
  },
  {
    name: "top",
    synopsis: "kvlb top [options]",
    summary: "a live view of a running kvlb: per-backend load and hot keys",
    usage: topUsage,
    run: topCommand,
  },
  {
    name: "load",
    synopsis: "kvlb load [options]",
    summary: "drive a Zipf memcached UDP load at kvlb (or any memcached)",
    usage: loadUsage,
    run: loadCommand,
  },
  {
    name: "swap",
    synopsis: "kvlb swap FILE.wasm | --rollback | --show [options]",
    summary: "swap a running kvlb's detector module",
    usage: swapUsage,
    run: swapCommand,
  },
  {
    name: "flush",
    synopsis: "kvlb flush [options]",
    summary: "empty a running kvlb's caches (its backends keep their items)",
    usage: flushUsage,
    run: flushCommand,
  },
  {
    name: "reload",
    synopsis: "kvlb reload [options]",
    summary: "have a running kvlb read its config file again (backends, weights, timeouts)",
    usage: reloadUsage,
    run: reloadCommand,
  },
  {
    name: "demo",
    synopsis: "kvlb demo [options]",
    summary: "3 memcached servers, kvlb in front, a Zipf load with the cache off then on",
    usage: demoUsage,
    run: (args) => demoCommand(args, createLogger()),
  },
  {
    name: "detect-demo",
    synopsis: "kvlb detect-demo [options]",
    summary: "stream Zipf keys through the core alone and show the hot keys found",
    usage: detectDemoUsage,
    run: (args) => detectDemoCommand(args, createLogger()),
  },
];

export function commandNamed(name: string): Command | undefined {
  return commands.find((c) => c.name === name);
}
