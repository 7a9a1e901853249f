// kvlb run: the balancer on kernel UDP sockets, until SIGINT or SIGTERM.
import { parseArgs } from "node:util";
import type { Logger } from "pino";
import { startBalancer } from "../balancer/balancer.js";
import { startAdmin } from "../control/admin.js";
import { parseListen, parseBackend, resolveBackends, ConfigError } from "../config/endpoints.js";
import { statsView } from "../control/stats-view.js";

export const runUsage = `run options:
  --listen ADDR:PORT        client address (default 127.0.0.1:11311)
  --backend HOST:PORT[:W]   a memcached server with its ketama weight (repeat for each)
  --admin ADDR:PORT|off     admin API: /stats, /metrics, /hotkeys (default 127.0.0.1:9911)
  --timeout MS              a backend request times out after MS (default 1000)
`;

export async function runCommand(args: string[], log: Logger): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      listen: { type: "string", default: "127.0.0.1:11311" },
      backend: { type: "string", multiple: true, default: [] },
      admin: { type: "string", default: "127.0.0.1:9911" },
      timeout: { type: "string" },
    },
    strict: true,
  });
  const listen = parseListen(values.listen);
  const backends = await resolveBackends(values.backend.map(parseBackend));
  const timeout = values.timeout === undefined ? 1000 : Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1)
    throw new ConfigError(`--timeout ${values.timeout}: milliseconds, at least 1`);
  const balancer = await startBalancer({ core: { natTimeoutMs: timeout }, backends, listen, backendBind: "0.0.0.0" });
  const admin = values.admin === "off" ? undefined : parseListen(values.admin);
  const server = admin
    ? await startAdmin(balancer, admin.address, admin.port).catch(async (e: unknown) => {
        await balancer.stop();
        throw new ConfigError((e as Error).message);
      })
    : undefined;
  log.info(
    {
      listen: `${listen.address}:${listen.port}`,
      backends: backends.map((b) => `${b.host}:${b.port}:${b.weight}`),
      admin: values.admin,
    },
    "kvlb is balancing",
  );
  const stop = await new Promise<string>((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
    void balancer.failed.then((m) => resolve(`worker failed: ${m}`));
  });
  log.info({ reason: stop }, "stopping");
  const last = balancer.latest();
  await balancer.stop();
  server?.close();
  if (last) log.info({ stats: statsView(balancer.setup, last).datagrams }, "stopped");
  return stop.startsWith("worker failed") ? 1 : 0;
}
