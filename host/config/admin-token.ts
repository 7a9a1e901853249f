// Who may use the admin API. On loopback it is open, as a local socket is. Bound anywhere
// else it needs a token, and every request must carry it (control/admin-auth.ts): the admin API
// can swap the core's code and purge its caches.
import { readFileSync } from "node:fs";
import { ConfigError } from "../errors.js";

/** The environment variable kvlb's own commands read the token from. */
export const TOKEN_ENV = "KVLB_ADMIN_TOKEN";

export function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1";
}

/** The token in a file (its first line, trimmed), for --admin-token-file and admin.tokenFile. */
export function readTokenFile(path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(
      `${path}: ${code === "ENOENT" ? "no such token file" : `cannot read the token file (${code ?? "error"})`}`,
    );
  }
  const token = (text.split("\n")[0] ?? "").trim();
  if (token.length < 16) throw new ConfigError(`${path}: the admin token must be at least 16 characters`);
  return token;
}

/** Refuses an admin API bound beyond loopback without a token. */
export function checkAdminBinding(address: string, port: number, token: string | undefined): void {
  if (token === undefined && !isLoopback(address)) {
    throw new ConfigError(
      `admin ${address}:${port}: the admin API beyond loopback needs a token (admin.token or admin.tokenFile in the config, or --admin-token-file)`,
    );
  }
}
