// The admin API: GET /stats (JSON), /metrics (Prometheus text), /hotkeys and /xdp, served from the
// stats the data-path worker last reported; and the module routes (module-routes.ts).
import { createServer, type Server } from "node:http";
import type { Balancer } from "../balancer/balancer.js";
import type { Logger } from "pino";
import { statsView } from "./stats-view.js";
import { createMetrics } from "./metrics.js";
import { ModuleControl } from "./modules.js";
import { moduleRoutes } from "./module-routes.js";

/** The XDP side of a balancer attached to interfaces, for GET /xdp. */
export type XdpStatusSource = () => unknown;

export function startAdmin(
  balancer: Balancer,
  address: string,
  port: number,
  xdp?: XdpStatusSource,
  log?: Logger,
): Promise<Server> {
  const metrics = createMetrics(balancer.setup, () => balancer.latest());
  const modules = new ModuleControl(balancer, log);
  const server = createServer((req, res) => {
    const report = balancer.latest();
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (moduleRoutes(modules, req, res)) return;
    if (req.method !== "GET") return send(405, "text/plain", "only GET, and POST /module\n");
    if (!report) return send(503, "text/plain", "no stats yet: the worker is starting\n");
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/stats")
      return send(200, "application/json", JSON.stringify(statsView(balancer.setup, report), null, 2));
    if (path === "/xdp") {
      if (!xdp) return send(404, "text/plain", "this kvlb is not attached to an interface (kvlb run)\n");
      return send(200, "application/json", JSON.stringify(xdp(), null, 2));
    }
    if (path === "/hotkeys") return send(200, "application/json", JSON.stringify(report.hotKeys, null, 2));
    if (path === "/metrics") {
      metrics.text().then(
        (body) => send(200, metrics.registry.contentType, body),
        (e: unknown) => send(500, "text/plain", `metrics: ${(e as Error).message}\n`),
      );
      return;
    }
    return send(404, "text/plain", "try /stats, /metrics, /hotkeys or /module\n");
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        new Error(
          e.code === "EADDRINUSE"
            ? `admin ${address}:${port}: address in use`
            : `admin ${address}:${port}: ${e.message}`,
        ),
      ),
    );
    server.listen(port, address, () => resolve(server));
  });
}
