// What kvlb run, kvlb run --datapath dpdk and kvlb attach share once the balancer is up: the
// options they all take, the admin API, the next-hop refresh of the frame paths, the startup
// line's endpoints, and running until a signal or a worker failure.
import type { Server } from "node:http";
import type { Logger } from "pino";
import { untilStopped, type Balancer } from "../balancer/balancer.js";
import { startAdmin, type XdpStatusSource } from "../control/admin.js";
import type { RunConfig } from "../config/run-config.js";
import type { Backend } from "../core/backends.js";
import { statsView } from "../control/stats-view.js";
import { nextHopsAsync, nextHopsKey } from "../datapath/afxdp/next-hops.js";
import type { Neighbour } from "../core/frame-tables.js";
import { loadCore } from "../core/loader.js";
import { BackendHealth } from "../control/health.js";
import type { ProbeTransport } from "../control/health-probes.js";
import { cidrText, type ClientGuard } from "../config/clients.js";
import { ConfigError } from "../errors.js";
import { Reloader, type ReloadHooks } from "../control/reload.js";

/** parseArgs options of every command that runs a balancer. */
export const balancerOptions = {
  config: { type: "string" as const },
  listen: { type: "string" as const },
  backend: { type: "string" as const, multiple: true as const, default: [] as string[] },
  admin: { type: "string" as const },
  "admin-token-file": { type: "string" as const },
  "on-down": { type: "string" as const },
  timeout: { type: "string" as const },
  cache: { type: "string" as const },
  replicas: { type: "string" as const },
  module: { type: "string" as const },
};

/**
 * The module to start with, loaded once in the control plane with the running config, so that
 * a bad file is the operator's one-line error before any worker starts.
 */
export async function checkStartModule(config: RunConfig): Promise<void> {
  if (config.module === undefined) return;
  await loadCore({ module: config.module, config: config.core }).catch((e: unknown) => {
    throw new ConfigError(`--module: ${(e as Error).message}`);
  });
}

const NEIGHBOUR_REFRESH_MS = 1000;

/** What runs beside the workers: the backends' health checks, the admin API, and reloads. */
export interface ControlPlane {
  health: BackendHealth;
  server: Server | undefined;
  reloader: Reloader;
}

/** Starts the health checks and, if configured, the admin API; a failure to listen is the operator's. */
export async function startControlPlane(
  balancer: Balancer,
  config: RunConfig,
  backends: readonly Backend[],
  log: Logger,
  xdp: XdpStatusSource | undefined,
  probeBy: ProbeTransport = config.backendTcp ? "tcp" : "udp",
  /** How a reload reads the config again, and what the data path does before the workers take it. */
  reload: ReloadHooks,
): Promise<ControlPlane> {
  const health = new BackendHealth(balancer, backends, config.health, log, probeBy);
  await health.start();
  const reloader = new Reloader(balancer, health, config, reload, log);
  if (!config.admin) return { health, server: undefined, reloader };
  const { address, port } = config.admin;
  try {
    const server = await startAdmin(balancer, {
      address,
      port,
      token: config.adminToken,
      xdp,
      log,
      health,
      reload: () => reloader.reload(),
      reloadStatus: () => reloader.status(),
    });
    return { health, server, reloader };
  } catch (e) {
    health.stop();
    throw new ConfigError((e as Error).message);
  }
}

/**
 * Re-reads the kernel's next hops every second, without blocking the control plane, and hands
 * changes to the worker; returns a stop. A failed read is logged and tried again at the next
 * turn: it never ends the process.
 */
export function followNextHops(
  balancer: Balancer,
  devs: readonly string[],
  /** The backends now (a reload changes them). */
  backends: () => readonly Backend[],
  first: readonly Neighbour[],
  log: Logger,
): () => void {
  let hops = first;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let failing = false;
  const turn = async (): Promise<void> => {
    try {
      const now = await nextHopsAsync(
        devs,
        backends().map((b) => b.address),
      );
      if (failing) log.info("next hops are read again");
      failing = false;
      if (nextHopsKey(now) !== nextHopsKey(hops)) {
        hops = now;
        balancer.send({ type: "neighbours", neighbours: now });
        log.debug({ nextHops: now.length }, "next hops changed");
      }
    } catch (e) {
      if (!failing) log.warn({ error: (e as Error).message }, "reading the next hops failed; trying again in a second");
      failing = true;
    }
    if (!stopped) timer = setTimeout(() => void turn(), NEIGHBOUR_REFRESH_MS);
  };
  timer = setTimeout(() => void turn(), NEIGHBOUR_REFRESH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** The endpoints for the "kvlb is balancing" line. */
export function endpointsLine(
  config: RunConfig,
  backends: readonly Backend[],
  guard?: ClientGuard,
): Record<string, unknown> {
  return {
    ...(guard ? { clients: guard.allow.map(cidrText), ...(guard.derived ? { clientsFrom: guard.derived } : {}) } : {}),
    listen: `${config.listen.address}:${config.listen.port}`,
    backends: backends.map((x) => `${x.host}:${x.port}:${x.weight}`),
    admin: config.admin ? `${config.admin.address}:${config.admin.port}` : "off",
  };
}

/** Runs until SIGINT, SIGTERM or a worker failure; logs the last stats. Returns the exit code. */
export async function serveUntilStopped(balancer: Balancer, control: ControlPlane, log: Logger): Promise<number> {
  balancer.onTrap((worker, error, now) =>
    log.warn(
      { worker, error, module: now.name, sha256: now.sha256 },
      "a burst trapped in the swapped-in module: the worker went back to the module before and ran the burst again",
    ),
  );
  // SIGHUP reads the config again (and no longer ends the process, node's default)
  const hangup = (): void => void control.reloader.reload();
  process.on("SIGHUP", hangup);
  const stop = await untilStopped(balancer);
  process.off("SIGHUP", hangup);
  log.info({ reason: stop }, "stopping");
  const last = balancer.latest();
  control.server?.close();
  control.health.stop();
  if (last) log.info({ stats: statsView(balancer.setup, last).datagrams }, "stopped");
  return stop.startsWith("failed") ? 1 : 0;
}
