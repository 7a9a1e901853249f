// kvlb attach: the balancer on the AF_XDP data path. kvlb's XDP program steers memcached UDP on
// the given interfaces into AF_XDP sockets whose frames live in the core's memory; everything
// else goes on to the kernel. Runs until SIGINT or SIGTERM, then detaches.
import { parseArgs } from "node:util";
import type { Logger } from "pino";
import type { XdpMode } from "libbpf-ts";
import { startBalancer, type Balancer } from "../balancer/balancer.js";
import { resolveBackends } from "../config/endpoints.js";
import { loadConfigFile, resolveRunConfig, type RunConfig } from "../config/run-config.js";
import { interfaceInfo, type InterfaceInfo } from "../datapath/afxdp/interfaces.js";
import { Steering } from "../datapath/afxdp/steering.js";
import { clientGuard } from "../config/clients.js";
import { nextHops } from "../datapath/afxdp/next-hops.js";
import {
  balancerOptions,
  startControlPlane,
  followNextHops,
  endpointsLine,
  serveUntilStopped,
  checkStartModule,
} from "./serving.js";
import { ConfigError } from "../errors.js";

export const attachUsage = `options (and those of kvlb run):
  --mode native|generic|auto  XDP mode; auto tries native, then generic (default auto)
  --force                   replace an XDP program that another process attached
  --listen ADDR:PORT        the balancer's address (default: the first interface's IPv4, port 11211)
`;

export async function attachCommand(args: string[], log: Logger): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      ...balancerOptions,
      mode: { type: "string", default: "auto" },
      force: { type: "boolean", default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const names = (positionals[0] ?? "").split(",").filter((n) => n !== "");
  if (names.length === 0 || positionals.length > 1) {
    throw new ConfigError("attach: name the interfaces, as in: kvlb attach eth0[,eth1] --backend HOST:PORT");
  }
  const mode = values.mode as XdpMode;
  if (!["native", "generic", "auto"].includes(mode))
    throw new ConfigError(`--mode ${values.mode}: native, generic or auto`);
  const interfaces: InterfaceInfo[] = names.map(interfaceInfo);
  const first = interfaces[0];
  const file = values.config === undefined ? {} : loadConfigFile(values.config);
  const listenText = values.listen ?? file.listen ?? (first?.address ? `${first.address}:11211` : undefined);
  if (!listenText) throw new ConfigError(`${names[0]}: has no IPv4 address; give one, or --listen ADDR:PORT`);
  const flags = {
    ...values,
    listen: listenText,
    adminTokenFile: values["admin-token-file"],
    onDown: values["on-down"],
  };
  const config = resolveRunConfig(file, flags, values.config);
  const backends = await resolveBackends(config.backends);
  const guard = clientGuard(config.listen.address, config.clientsAllow, config.adminClients);
  if (backends.length === 0) throw new ConfigError("no backends: give --backend HOST:PORT (or backends: in --config)");
  await checkStartModule(config);
  const steering = Steering.attach(names, { port: config.listen.port, backends, mode, force: values.force });
  for (const o of steering.replacedOrphans) {
    log.warn(o, "replaced kvlb's XDP program left by a kvlb that is gone (no process held it)");
  }
  // whatever ends this process from here on, the programs come off the interfaces first
  const detachOnExit = (): void => void steering.detach();
  process.once("exit", detachOnExit);
  let balancer: Balancer | undefined;
  let stopRefresh: (() => void) | undefined;
  try {
    const ports = interfaces.map((i) => ({
      name: i.name,
      queue: 0,
      ifindex: i.ifindex,
      mac: i.mac,
      address: i.address ?? config.listen.address,
    }));
    const hops = nextHops(
      names,
      backends.map((b) => b.address),
    );
    balancer = await startBalancer({
      core: config.core,
      backends,
      listen: config.listen,
      backendBind: "0.0.0.0",
      clients: guard,
      ...(config.tcp ? { tcp: config.tcp } : {}),
      ...(config.backendTcp ? { backendTcp: config.backendTcp } : {}),
      afxdp: { ports, neighbours: hops },
      ...(config.module ? { module: config.module } : {}),
    });
    const b = balancer;
    steering.interfaces.forEach((s, i) => {
      s.setSocket(0, b.xskFds[i] ?? -1);
      s.setReplyPort(b.ports.backend);
    });
    stopRefresh = followNextHops(b, names, () => b.setup.backends, hops, log);
    const xdpStatus = (): unknown => ({
      interfaces: steering.interfaces.map((s, i) => ({
        ...s.attachment,
        counters: s.counters(),
        socket: b.latest()?.xsk?.[i],
      })),
    });
    // a reload reads the same file with the same flags over it; the program steers the replies of
    // the backends it adds before the workers send them anything
    const reread = (): RunConfig => {
      if (values.config === undefined)
        throw new ConfigError("kvlb attach was started without --config: there is no file to read again");
      return resolveRunConfig(loadConfigFile(values.config), flags, values.config);
    };
    const before = (slots: readonly { address: string; port: number }[]): void =>
      steering.interfaces.forEach((s) => s.steerBackends(slots));
    const control = await startControlPlane(b, config, backends, log, xdpStatus, undefined, { reread, before });
    log.info(
      {
        interfaces: steering.interfaces.map((s) => `${s.attachment.ifname} (${s.attachment.mode})`),
        ...endpointsLine(config, backends, guard),
      },
      "kvlb is attached and balancing",
    );
    return await serveUntilStopped(b, control, log);
  } finally {
    stopRefresh?.();
    await balancer?.stop();
    const detached = steering.detach();
    process.off("exit", detachOnExit);
    log.info({ interfaces: detached }, "detached");
  }
}
