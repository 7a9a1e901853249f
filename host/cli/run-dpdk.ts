// kvlb run --datapath dpdk: the EAL and the ports in the main thread, a worker on each queue,
// kvlb's XDP program (loaded by DPDK's af_xdp driver) configured with the port and backends,
// next hops from the kernel for ports that have a kernel interface behind them, and from the
// core's own ARP for ports that have none.
import type { Logger } from "pino";
import type { AttachedProgram } from "libbpf-ts";
import type { Balancer } from "../balancer/balancer.js";
import { startWorkers } from "../balancer/worker-group.js";
import { createPeerRings } from "../worker/peer-link.js";
import { clientGuard } from "../config/clients.js";
import { ConfigError } from "../errors.js";
import { requireUdpBackends, type RunConfig } from "../config/run-config.js";
import type { Backend } from "../core/backends.js";
import { dpdk } from "../datapath/dpdk/native.js";
import { parsePort } from "../datapath/dpdk/eal.js";
import { interfaceInfo } from "../datapath/afxdp/interfaces.js";
import { requireRoot, xdpObjectPath } from "../datapath/afxdp/steering.js";
import { nextHops } from "../datapath/afxdp/next-hops.js";
import { startControlPlane, followNextHops, endpointsLine, serveUntilStopped } from "./serving.js";
import { setReplyPort, steerBackends } from "../xdp/steering-maps.js";
import type { ReloadHooks } from "../control/reload.js";
import { openPort, steer, frameModeFor, checkQueues, startEalFor } from "../datapath/dpdk/setup.js";
import type { PortInfo } from "../datapath/dpdk/native.js";

export interface DpdkOptions {
  args: string;
  ports: string[];
  queues: number;
}

export async function runDpdk(
  config: RunConfig,
  backends: Backend[],
  options: DpdkOptions,
  log: Logger,
  reread: ReloadHooks["reread"],
): Promise<number> {
  requireUdpBackends(config, "the DPDK data path");
  requireRoot("the DPDK data path with");
  if (options.ports.length === 0) {
    throw new ConfigError("--datapath dpdk: give at least one --port, as in --port net_af_xdp0,iface=eth0");
  }
  if (backends.length === 0) throw new ConfigError("no backends: give --backend HOST:PORT (or backends: in --config)");
  const queues = options.queues;
  const specs = options.ports.map((p) => parsePort(p, xdpObjectPath(), queues));
  const ifaces = specs.map((s) => (s.iface ? interfaceInfo(s.iface) : undefined)); // "eth9: no such interface"
  const frameMode = frameModeFor(specs, ifaces, queues);
  checkQueues(specs, frameMode, queues);
  if (frameMode.answerArp && config.listen.address === "0.0.0.0") {
    throw new ConfigError(
      "--listen: with no kernel address behind the ports, kvlb answers ARP for its own; give it, as in --listen 10.0.0.5:11211",
    );
  }
  const native = dpdk();
  const removeRuntime = startEalFor(specs, options.args);
  const opened: PortInfo[] = [];
  const programs: AttachedProgram[] = [];
  let balancer: Balancer | undefined;
  let stopRefresh: (() => void) | undefined;
  try {
    for (const spec of specs) opened.push(openPort(spec, queues));
    for (const spec of specs) {
      if (spec.iface && spec.kind === "af_xdp") {
        programs.push(steer(spec.iface, config.listen.port, frameMode.repliesViaKernel ? [] : backends));
      }
    }
    const ports = specs.map((s, i) => ({
      name: s.name,
      queue: 0,
      ifindex: ifaces[i]?.ifindex ?? 0,
      mac: [...(opened[i]?.mac ?? [])].map((b) => b.toString(16).padStart(2, "0")).join(":"),
      address: ifaces[i]?.address ?? s.address ?? config.listen.address,
      dpdkPort: opened[i]?.port ?? 0,
    }));
    const devs = specs.map((s) => s.iface ?? "");
    // with no kernel behind the ports, the core learns next hops by ARP instead
    const hops = frameMode.answerArp
      ? []
      : nextHops(
          devs,
          backends.map((b) => b.address),
        );
    const rings = queues > 1 ? createPeerRings(queues) : undefined;
    const guard = clientGuard(config.listen.address, config.clientsAllow, config.adminClients);
    balancer = await startWorkers(
      Array.from({ length: queues }, (_, queue) => ({
        core: config.core,
        backends,
        listen: config.listen,
        clients: guard,
        ...(config.tcp ? { tcp: config.tcp } : {}),
        backendBind: "0.0.0.0",
        dpdk: { ports, queue, neighbours: hops },
        frameMode,
        ...(config.module ? { module: config.module } : {}),
        ...(rings ? { peers: { rings, index: queue } } : {}),
      })),
    );
    const b = balancer;
    // the backends' replies to the port the worker's requests leave from come as frames
    if (!frameMode.repliesViaKernel) for (const p of programs) setReplyPort(p, b.ports.backend);
    if (!frameMode.answerArp) stopRefresh = followNextHops(b, devs, () => b.setup.backends, hops, log);
    const status = (): unknown => ({
      ports: specs.map((s, i) => ({
        devargs: s.devargs,
        driver: opened[i]?.driver,
        stats: native.portStats(opened[i]?.port ?? 0),
        queues: (b.latest()?.workers ?? [b.latest()]).map((w) => w?.xsk?.[0]),
      })),
    });
    // with no kernel behind the ports, no probe reaches the backends: requests alone judge them
    // with no kernel to reach the backends through, the core sends the health checks' probes
    // a reload: the programs steer the replies of the backends it adds before the workers send
    // them anything
    const before = (slots: readonly { address: string; port: number }[]): void => {
      if (!frameMode.repliesViaKernel) for (const p of programs) steerBackends(p, slots);
    };
    const control = await startControlPlane(b, config, backends, log, status, frameMode.answerArp ? "core" : "udp", {
      reread,
      before,
    });
    log.debug({ dpdk: native.takeLog() }, "DPDK's log");
    log.info(
      {
        ports: specs.map((s, i) => `${s.name} (${opened[i]?.driver ?? "?"})`),
        workers: queues,
        ...endpointsLine(config, backends, guard),
      },
      "kvlb is balancing over DPDK",
    );
    return await serveUntilStopped(b, control, log);
  } finally {
    stopRefresh?.();
    await balancer?.stop();
    for (const p of programs) p.close();
    for (const p of opened) native.portClose(p.port);
    native.ealCleanup();
    removeRuntime();
  }
}
