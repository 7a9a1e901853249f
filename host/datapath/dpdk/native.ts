// The DPDK addon's raw surface (src/*.cc), loaded on first use. Building it is optional: without
// libdpdk the rest of kvlb works, and asking for the DPDK data path says how to get it.
import { createRequire } from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { projectRoot } from "../../util/paths.js";
import { ConfigError } from "../../errors.js";

export interface PortInfo {
  port: number;
  driver: string;
  mac: Uint8Array;
  queues: number;
  maxQueues: number;
  rss: boolean;
}

export interface PortStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxMissed: number;
  rxErrors: number;
  txErrors: number;
  rxNoMbuf: number;
}

export interface FrameQueueStats {
  rxNoFrame: number;
  rxTooLong: number;
  txNoMbuf: number;
  txDropped: number;
}

export interface FrameQueues {
  /** rx bursts into free frames of the pool; writes struct xdp_desc at descOff. */
  receive(descOff: number, max: number): number;
  /** Sends the xdp_desc at descOff (options = queue index); frames go back to the pool. */
  transmit(descOff: number, n: number): number;
  stats(): FrameQueueStats;
}

export interface FrameLayout {
  umemOffset: number;
  umemBytes: number;
  frameSize: number;
  poolOffset: number;
}

export interface DpdkNative {
  ealInit(args: string[]): void;
  ealCleanup(): void;
  registerThread(): number;
  unregisterThread(): void;
  takeLog(): string;
  portOpen(name: string, options: { queues: number; rxDesc?: number; txDesc?: number; mbufs?: number }): PortInfo;
  portStats(port: number): PortStats;
  portClose(port: number): void;
  FrameQueues: new (memory: Uint8Array, layout: FrameLayout, queues: { port: number; queue: number }[]) => FrameQueues;
}

export const dpdkAddonPath = join(projectRoot(), "host/datapath/dpdk/build/Release/kvlb_dpdk.node");

let loaded: DpdkNative | undefined;

export function dpdk(): DpdkNative {
  if (!loaded) {
    if (!existsSync(dpdkAddonPath)) {
      throw new ConfigError(
        "the DPDK data path is not built: install DPDK 22.11 (apt-get install libdpdk-dev pkg-config), then run: bash scripts/setup",
      );
    }
    loaded = createRequire(import.meta.url)(dpdkAddonPath) as DpdkNative;
  }
  return loaded;
}
