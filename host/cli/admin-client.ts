// Reading a running kvlb's admin API, with errors an operator can act on.
import type { StatsView } from "../control/stats-view.js";
import type { HotKey } from "../worker/messages.js";
import { parseListen } from "../config/endpoints.js";
import type { ModuleStatus, SwapReport } from "../control/modules.js";
import { TOKEN_ENV, readTokenFile } from "../config/admin-token.js";
import { KvlbError, ConfigError } from "../errors.js";
import { loadConfigFile, DEFAULT_ADMIN } from "../config/run-config.js";

/** The options every command that talks to the admin API takes. */
export const adminClientOptions = {
  admin: { type: "string" as const },
  "admin-token-file": { type: "string" as const },
  config: { type: "string" as const },
};

/** Their help, as every such command prints it. */
export const adminClientUsage = `  --config FILE             the running kvlb's config file: its admin address and token
  --admin ADDR:PORT         the admin API of a running kvlb (default ${DEFAULT_ADMIN})
  --admin-token-file FILE   its token, if it has one (or set ${TOKEN_ENV})`;

/**
 * An AdminClient from those options: the flags first, then the config file's admin section,
 * then the defaults (and the token from $KVLB_ADMIN_TOKEN).
 */
export function adminClientOf(values: { admin?: string; "admin-token-file"?: string; config?: string }): AdminClient {
  const file = values.config === undefined ? {} : loadConfigFile(values.config);
  const section = typeof file.admin === "object" ? file.admin : { listen: file.admin };
  const address = values.admin ?? section.listen ?? DEFAULT_ADMIN;
  if (address === "off") {
    throw new ConfigError(
      `${values.config ?? "--admin"}: the admin API is off there (admin: off), so no command can reach it`,
    );
  }
  const tokenFile = values["admin-token-file"] ?? section.tokenFile;
  const token = tokenFile !== undefined ? readTokenFile(tokenFile) : (section.token ?? process.env[TOKEN_ENV]);
  return new AdminClient(address, token);
}

export interface XdpStatus {
  /** "socket" for kvlb run on kernel sockets, which has no XDP side. */
  datapath?: string;
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

  /** `token`: what the admin API wants; by default $KVLB_ADMIN_TOKEN. */
  constructor(
    readonly address: string,
    private readonly token: string | undefined = process.env[TOKEN_ENV],
  ) {
    const e = parseListen(address, DEFAULT_ADMIN);
    this.base = `http://${e.address}:${e.port}`;
  }

  private async get(path: string, init: RequestInit = {}, timeoutMs = 3000): Promise<unknown> {
    let r: Response;
    const headers = {
      ...(init.headers as Record<string, string>),
      ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
    };
    try {
      r = await fetch(`${this.base}${path}`, { ...init, headers, signal: AbortSignal.timeout(timeoutMs) });
    } catch {
      throw new KvlbError(
        "KVLB_ADMIN",
        `${this.address}: no kvlb admin API answers there (is kvlb run or kvlb attach up? pass --admin ADDR:PORT)`,
      );
    }
    if (r.status === 503) throw new KvlbError("KVLB_ADMIN", `${this.address}: kvlb is starting, try again in a second`);
    if (r.status === 401) {
      throw new KvlbError(
        "KVLB_ADMIN",
        `${this.address}: ${this.token ? "the admin token was refused" : "this admin API needs its token"} (--admin-token-file FILE, or ${TOKEN_ENV})`,
      );
    }
    if (r.status === 400 || r.status === 409 || r.status === 413)
      throw new KvlbError("KVLB_ADMIN", ((await r.json()) as { error: string }).error);
    if (!r.ok)
      throw new KvlbError("KVLB_ADMIN", `${this.address}${path}: HTTP ${r.status} (is this a kvlb admin API?)`);
    return r.json();
  }

  /** `fresh`: wait for the workers' next report, which counts everything sent before the call. */
  stats(fresh = false): Promise<StatsView> {
    return this.get(fresh ? "/stats?fresh" : "/stats") as Promise<StatsView>;
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

  /** Swaps the running kvlb to the module in `bytes`; a refusal is a KvlbError (KVLB_ADMIN) that says why. */
  swap(bytes: Uint8Array, name: string): Promise<SwapReport> {
    const init = { method: "POST", body: Buffer.from(bytes), headers: { "content-type": "application/wasm" } };
    return this.get(`/module?name=${encodeURIComponent(name)}`, init, 30_000) as Promise<SwapReport>;
  }

  /** Empties the running kvlb's caches. */
  flush(): Promise<{ flushed: boolean }> {
    return this.get("/flush", { method: "POST" }) as Promise<{ flushed: boolean }>;
  }

  /** Has the running kvlb read its config file again; a refusal is a KvlbError (KVLB_ADMIN) that says why. */
  reload(): Promise<{ ok: boolean; lines: string[] }> {
    return this.get("/config", { method: "POST" }, 30_000) as Promise<{ ok: boolean; lines: string[] }>;
  }

  rollback(): Promise<SwapReport> {
    return this.get("/module/rollback", { method: "POST" }, 30_000) as Promise<SwapReport>;
  }
}
