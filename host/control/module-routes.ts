// The admin API's module routes: GET /module (each worker's module), POST /module (a swap to
// the .wasm in the body) and POST /module/rollback. Errors come back as JSON { error } with 400
// (the module was refused, the old one runs on) or 409 (a swap is under way).
import type { IncomingMessage, ServerResponse } from "node:http";
import { MAX_MODULE_BYTES, type ModuleControl } from "./modules.js";
import type { RequestPath } from "./request-path.js";
import { errorCode, ModuleError, SwapBusyError } from "../errors.js";

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body, null, 2));
}

function readBody(req: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on("data", (d: Buffer) => {
      size += d.length;
      if (size > MAX_MODULE_BYTES) {
        reject(new ModuleError(`the body is over ${MAX_MODULE_BYTES >> 20} MiB: not a core module`));
        req.destroy();
      } else parts.push(d);
    });
    req.on("end", () => resolve(new Uint8Array(Buffer.concat(parts))));
    req.on("error", reject);
  });
}

/** Serves the request if it is one of the module routes; false when it is not. */
export function moduleRoutes(
  modules: ModuleControl,
  url: RequestPath,
  req: IncomingMessage,
  res: ServerResponse,
): boolean {
  const fail = (e: unknown): void => {
    const message = (e as Error).message;
    const code = errorCode(e);
    json(res, code === "KVLB_SWAP_BUSY" ? 409 : code === "KVLB_MODULE" || code === "KVLB_CORE" ? 400 : 500, {
      error: message,
    });
  };
  if (url.pathname === "/module" && req.method === "GET") {
    json(res, 200, modules.status());
    return true;
  }
  if (url.pathname === "/module" && req.method === "POST") {
    // refused before a byte of the body is read: while a swap runs, or when it says it is too large
    if (modules.swapping) {
      fail(new SwapBusyError());
      req.resume();
      return true;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    if (declared > MAX_MODULE_BYTES) {
      json(res, 413, { error: `the body is over ${MAX_MODULE_BYTES >> 20} MiB: not a core module` });
      req.destroy();
      return true;
    }
    const name = url.query.get("name") ?? "the module";
    readBody(req)
      .then((bytes) => modules.swap(bytes, name))
      .then((r) => json(res, 200, r), fail);
    return true;
  }
  if (url.pathname === "/module/rollback" && req.method === "POST") {
    modules.rollback().then((r) => json(res, 200, r), fail);
    return true;
  }
  return false;
}
