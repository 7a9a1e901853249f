// The demo's options and the detector settings tuned to its load, shared by its socket and XDP runs.
import type { CoreConfig } from "../core/config.js";

export interface ClusterDemoOptions {
  seconds: number;
  keys: number;
  zipf: number;
  valueBytes: number;
  /** Share of operations that are sets. */
  sets: number;
  basePort: number;
  /** afxdp: in namespaces, over XDP; socket: on loopback; auto: XDP when the machine allows it. */
  datapath: "auto" | "afxdp" | "socket";
  /** Percent of a CPU each memcached may use (a cgroup); 0 leaves them uncapped. */
  cap: number;
  /** Where the chart goes. */
  chart: string;
}

export const clusterDemoDefaults: Readonly<ClusterDemoOptions> = Object.freeze({
  seconds: 20,
  keys: 10_000,
  zipf: 0.99,
  valueBytes: 200,
  sets: 0.02,
  basePort: 21211,
  datapath: "auto",
  cap: 10,
  chart: "build/demo/demo.svg",
});

// A detector tuned to the demo's load: with ten thousand keys under Zipf(0.99) the top key draws
// about 10% of the traffic, below the design's default support of 20%.
export const demoCore: Partial<CoreConfig> = { support: 0.01, epsilon: 0.001, warm: 0.001 };
