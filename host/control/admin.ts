// The admin API: GET /stats (JSON), /metrics (Prometheus text), /hotkeys and /xdp, served from the
// stats the data-path worker last reported; and the module routes (module-routes.ts). Whatever a
// request holds, it gets an HTTP status: no path, method, header or body can end the process.
import { createServer, type Server, type IncomingMessage, type ServerResponse } from "node:http";
import type { Balancer } from "../balancer/balancer.js";
import type { Logger } from "pino";
import { statsView } from "./stats-view.js";
import { createMetrics } from "./metrics.js";
import { ModuleControl } from "./modules.js";
import { moduleRoutes } from "./module-routes.js";
import { authorized } from "./admin-auth.js";
import { requestPath } from "./request-path.js";
import type { BackendHealth } from "./health.js";
import type { ReloadResult } from "./reload.js";
import type { ReloadStatus } from "./reload-status.js";
import { KvlbError } from "../errors.js";
import { setTimeout as sleep } from "node:timers/promises";

/** The XDP side of a balancer attached to interfaces, for GET /xdp. */
// A worker reports twice a second; GET /stats?fresh waits this long for the next report.
const FRESH_TIMEOUT_MS = 2000;

export type XdpStatusSource = () => unknown;

export interface AdminOptions {
  address: string;
  port: number;
  /** What every request must carry as "Authorization: Bearer TOKEN". */
  token?: string;
  xdp?: XdpStatusSource;
  log?: Logger;
  health?: BackendHealth;
  /** POST /config: reads the config file again and applies it (reload.ts). */
  reload: () => Promise<ReloadResult>;
  reloadStatus: () => ReloadStatus;
}

export function startAdmin(balancer: Balancer, o: AdminOptions): Promise<Server> {
  const health = o.health;
  const metrics = createMetrics(
    balancer.setup,
    () => balancer.latest(),
    health ? () => health.view() : undefined,
    o.reloadStatus,
  );
  const modules = new ModuleControl(balancer, o.log);
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const send = (status: number, type: string, body: string): void => {
      if (res.headersSent) return;
      res.writeHead(status, { "content-type": type });
      res.end(body);
    };
    if (!authorized(req, o.token)) {
      res.setHeader("www-authenticate", "Bearer");
      return send(401, "text/plain", "this admin API needs its token: Authorization: Bearer TOKEN\n");
    }
    const path = requestPath(req.url);
    if (path === undefined) return send(400, "text/plain", "not a request path\n");
    if (moduleRoutes(modules, path, req, res)) return;
    if (path.pathname === "/flush" && req.method === "POST") {
      balancer.send({ type: "purge", backend: "all" });
      o.log?.info("kvlb flush: every worker drops what its caches hold");
      return send(200, "application/json", JSON.stringify({ flushed: true }) + "\n");
    }
    if (path.pathname === "/config" && req.method === "POST") {
      const refuse = (error: string): void => send(409, "application/json", JSON.stringify({ error }) + "\n");
      // a refusal's one line is the error; what a reload did, a line each
      void o.reload().then(
        (r) => (r.ok ? send(200, "application/json", JSON.stringify(r) + "\n") : refuse(r.lines[0] ?? "refused")),
        (e: unknown) => refuse(`the reload failed: ${String(e)}`),
      );
      return;
    }
    if (path.pathname === "/health" || path.pathname === "/health/ready") {
      // alive as long as this answers; ready when a worker reports and enough backends are up
      const ready = balancer.latest() !== undefined && (health?.ready() ?? true);
      const body = { alive: true, ready, backendsUp: health?.upCount(), backends: health?.view() };
      const status = path.pathname === "/health/ready" && !ready ? 503 : 200;
      return send(status, "application/json", JSON.stringify(body, null, 2));
    }
    if (req.method !== "GET") return send(405, "text/plain", "only GET, and POST /module, /module/rollback, /flush\n");
    const report = balancer.latest();
    if (!report) return send(503, "text/plain", "no stats yet: the worker is starting\n");
    if (path.pathname === "/stats" && path.query.has("fresh")) {
      // counts everything the workers did before this request: the next report of each
      const timeout = sleep(FRESH_TIMEOUT_MS, undefined, { ref: false });
      void Promise.race([balancer.fresh(), timeout]).then((r) =>
        r
          ? send(
              200,
              "application/json",
              JSON.stringify(statsView(balancer.setup, r, health?.view(), o.reloadStatus()), null, 2),
            )
          : send(503, "text/plain", `no worker reported within ${FRESH_TIMEOUT_MS} ms\n`),
      );
      return;
    }
    if (path.pathname === "/stats")
      return send(
        200,
        "application/json",
        JSON.stringify(statsView(balancer.setup, report, health?.view(), o.reloadStatus()), null, 2),
      );
    if (path.pathname === "/xdp") {
      // kvlb run on kernel sockets has no XDP side: an empty document that says so, not a 404
      if (!o.xdp) return send(200, "application/json", JSON.stringify({ datapath: "socket", interfaces: [] }, null, 2));
      return send(200, "application/json", JSON.stringify(o.xdp(), null, 2));
    }
    if (path.pathname === "/hotkeys") return send(200, "application/json", JSON.stringify(report.hotKeys, null, 2));
    if (path.pathname === "/metrics") {
      metrics.text().then(
        (body) => send(200, metrics.registry.contentType, body),
        (e: unknown) => send(500, "text/plain", `metrics: ${(e as Error).message}\n`),
      );
      return;
    }
    return send(404, "text/plain", "try /stats, /metrics, /hotkeys, /health or /module\n");
  };
  // An idle connection stays open longer than any client keeps one (undici: 4 s, node's agent:
  // its own): a client whose timer runs late then never sends a request, a module's bytes among
  // them, on a connection the server closed a moment before (node's default is 5 s).
  const server = createServer(
    { maxHeaderSize: 16 << 10, requestTimeout: 60_000, keepAliveTimeout: 65_000 },
    (req, res) => {
      try {
        handle(req, res);
      } catch (e) {
        o.log?.error({ error: (e as Error).message, url: req.url }, "admin request failed");
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "text/plain" });
          res.end("internal error\n");
        }
      }
    },
  );
  // a request that is not HTTP gets a 400 (431 for headers too large) and a closed connection
  server.on("clientError", (e: NodeJS.ErrnoException, socket) => {
    const status = e.code === "HPE_HEADER_OVERFLOW" ? "431 Request Header Fields Too Large" : "400 Bad Request";
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
  });
  return new Promise((resolve, reject) => {
    server.once("error", (e: NodeJS.ErrnoException) =>
      reject(
        ["EADDRINUSE", "EADDRNOTAVAIL", "EACCES"].includes(e.code ?? "")
          ? new KvlbError(
              "KVLB_ADDRESS",
              `admin ${o.address}:${o.port}: ${e.code === "EADDRINUSE" ? "address in use (is another kvlb running?)" : e.code === "EACCES" ? "ports below 1024 need root" : "not an address of this machine"}`,
            )
          : new Error(`admin ${o.address}:${o.port}: ${e.message}`),
      ),
    );
    server.listen(o.port, o.address, () => resolve(server));
  });
}
