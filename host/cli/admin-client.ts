// Reading a running kvlb's admin API, with errors an operator can act on.
import type { StatsView } from "../control/stats-view.js";
import type { HotKey } from "../worker/messages.js";
import { parseListen, ConfigError } from "../config/endpoints.js";
import type { ModuleStatus, SwapReport } from "../control/modules.js";

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

  private async get(path: string, init: RequestInit = {}, timeoutMs = 3000): Promise<unknown> {
    let r: Response;
    try {
      r = await fetch(`${this.base}${path}`, { ...init, signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      throw new ConfigError(
        `${this.address}: no kvlb admin API answers there (is kvlb run or kvlb attach up? pass --admin ADDR:PORT)`,
      );
    }
    if (r.status === 503) throw new ConfigError(`${this.address}: kvlb is starting, try again in a second`);
    if (r.status === 400 || r.status === 409) throw new ConfigError(((await r.json()) as { error: string }).error);
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

  module(): Promise<ModuleStatus> {
    return this.get("/module") as Promise<ModuleStatus>;
  }

  /** Swaps the running kvlb to the module in `bytes`; a refusal is a ConfigError that says why. */
  swap(bytes: Uint8Array, name: string): Promise<SwapReport> {
    const init = { method: "POST", body: Buffer.from(bytes), headers: { "content-type": "application/wasm" } };
    return this.get(`/module?name=${encodeURIComponent(name)}`, init, 30_000) as Promise<SwapReport>;
  }

  rollback(): Promise<SwapReport> {
    return this.get("/module/rollback", { method: "POST" }, 30_000) as Promise<SwapReport>;
  }
}
