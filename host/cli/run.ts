// kvlb run: the balancer on kernel UDP sockets, until SIGINT or SIGTERM.
import { parseArgs } from "node:util";
import type { Logger } from "pino";
import { startBalancer } from "../balancer/balancer.js";
import { clientGuard } from "../config/clients.js";
import { resolveBackends, DEFAULT_LISTEN } from "../config/endpoints.js";
import { loadConfigFile, resolveRunConfig, type RunConfig } from "../config/run-config.js";
import { balancerOptions, startControlPlane, endpointsLine, serveUntilStopped, checkStartModule } from "./serving.js";
import { runDpdk } from "./run-dpdk.js";
import { dpdkDefaultListen } from "../datapath/dpdk/setup.js";
import { ConfigError } from "../errors.js";

// No hugepages needed: DPDK takes 512 MB of ordinary memory.
const DEFAULT_EAL_ARGS = "--no-huge -m 512";

export const runUsage = `options (flags override the file given by --config):
  --config FILE             a kvlb.yaml (see kvlb.example.yaml)
  --listen ADDR:PORT        client address (default ${DEFAULT_LISTEN}; on DPDK, the first --port's interface address, port 11211)
  --backend HOST:PORT[:W]   a memcached server with its ketama weight (repeat for each)
  --admin ADDR:PORT|off     admin API: /stats, /metrics, /hotkeys (default 127.0.0.1:9911)
  --admin-token-file FILE   the token every admin request must carry; needed beyond loopback
  --on-down failover|fail   a down backend's keys: the next server up on the ring, or SERVER_ERROR
                            (default failover; health.* in the config tunes the checks)
  --timeout MS              a backend request times out after MS (default 1000)
  --cache on|off            answer hot keys from kvlb's caches (default on)
  --replicas on|off         copy the hottest keys to the next servers on the ring and spread
                            their reads (default on; cache.replicaKeys sizes it)
  --module FILE.wasm        the core module to start with (default build/kvlb-core.wasm,
                            lossy counting; others in build/modules/, and kvlb swap changes it)
  --datapath socket|dpdk    kernel UDP sockets (default), or DPDK ports
  --port DEVARGS            a DPDK port, as in net_af_xdp0,iface=eth0 or 0000:01:00.0 (repeat)
  --dpdk-args ARGS          the EAL's arguments (default "--no-huge -m 512")
  --queues N                queues per DPDK port, a worker each (default 1)
`;

/**
 * node's parser takes `--dpdk-args --no-huge` for two flags ("ambiguous"): the EAL's arguments
 * start with dashes, so the value after --dpdk-args is glued to it, as --dpdk-args=VALUE.
 */
function gluedDpdkArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? "";
    const next = args[i + 1];
    if (a === "--dpdk-args" && next !== undefined) {
      out.push(`--dpdk-args=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

export async function runCommand(args: string[], log: Logger): Promise<number> {
  const { values } = parseArgs({
    args: gluedDpdkArgs(args),
    options: {
      ...balancerOptions,
      datapath: { type: "string" },
      port: { type: "string", multiple: true, default: [] },
      "dpdk-args": { type: "string" },
      queues: { type: "string" },
    },
    strict: true,
  });
  const file = values.config === undefined ? {} : loadConfigFile(values.config);
  const datapath = values.datapath ?? file.datapath ?? "socket";
  if (datapath !== "socket" && datapath !== "dpdk") throw new ConfigError(`--datapath ${datapath}: socket or dpdk`);
  const dpdkPorts = values.port.length > 0 ? values.port : (file.dpdk?.ports ?? []);
  // on DPDK, as kvlb attach does, clients reach the first port's interface address by default
  const listen = values.listen ?? file.listen ?? (datapath === "dpdk" ? dpdkDefaultListen(dpdkPorts) : undefined);
  const flags = {
    ...values,
    ...(listen !== undefined ? { listen } : {}),
    adminTokenFile: values["admin-token-file"],
    onDown: values["on-down"],
  };
  const config = resolveRunConfig(file, flags, values.config);
  const backends = await resolveBackends(config.backends);
  await checkStartModule(config);
  // a reload reads the same file with the same flags over it
  const configPath = values.config;
  const reread = (): RunConfig => {
    if (configPath === undefined)
      throw new ConfigError("kvlb run was started without --config: there is no file to read again");
    return resolveRunConfig(loadConfigFile(configPath), flags, configPath);
  };
  if (datapath === "dpdk") {
    const queues = Number(values.queues ?? file.dpdk?.queues ?? 1);
    if (!Number.isInteger(queues) || queues < 1)
      throw new ConfigError(`--queues ${values.queues}: a whole number, 1 or more`);
    return runDpdk(
      config,
      backends,
      {
        args: values["dpdk-args"] ?? file.dpdk?.args ?? DEFAULT_EAL_ARGS,
        ports: dpdkPorts,
        queues,
      },
      log,
      reread,
    );
  }
  const guard = clientGuard(config.listen.address, config.clientsAllow, config.adminClients);
  const balancer = await startBalancer({
    core: config.core,
    backends,
    listen: config.listen,
    backendBind: "0.0.0.0",
    clients: guard,
    ...(config.tcp ? { tcp: config.tcp } : {}),
    ...(config.backendTcp ? { backendTcp: config.backendTcp } : {}),
    ...(config.module ? { module: config.module } : {}),
  });
  try {
    const control = await startControlPlane(balancer, config, backends, log, undefined, undefined, { reread });
    log.info({ ...endpointsLine(config, backends, guard), cache: config.cache ? "on" : "off" }, "kvlb is balancing");
    return await serveUntilStopped(balancer, control, log);
  } finally {
    await balancer.stop();
  }
}
