// Reading a running kvlb's admin API, with errors an operator can act on.
import type { StatsView } from "../control/stats-view.js";
import type { HotKey } from "../worker/messages.js";
import { parseListen, ConfigError } from "../config/endpoints.js";

export interface XdpStatus {
  interfaces: {
    ifname: string;
    mode: string;
    programId: number;
    programName: string;
    counters: Record<string, number>;
    socket?: Record<string, number>;
  }[];
}

export class AdminClient {
  private readonly base: string;

  constructor(readonly address: string) {
    const e = parseListen(address);
    this.base = `http://${e.address}:${e.port}`;
  }

  private async get(path: string): Promise<unknown> {
    let r: Response;
    try {
      r = await fetch(`${this.base}${path}`, { signal: AbortSignal.timeout(3000) });
    } catch {
      throw new ConfigError(
        `${this.address}: no kvlb admin API answers there (is kvlb run or kvlb attach up? pass --admin ADDR:PORT)`,
      );
    }
    if (r.status === 503) throw new ConfigError(`${this.address}: kvlb is starting, try again in a second`);
    if (!r.ok) throw new ConfigError(`${this.address}${path}: HTTP ${r.status} (is this a kvlb admin API?)`);
    return r.json();
  }

  stats(): Promise<StatsView> {
    return this.get("/stats") as Promise<StatsView>;
  }

  xdp(): Promise<XdpStatus> {
    return this.get("/xdp") as Promise<XdpStatus>;
  }

  hotKeys(): Promise<HotKey[]> {
    return this.get("/hotkeys") as Promise<HotKey[]>;
  }
}
