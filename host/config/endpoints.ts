// Parsing the operator's endpoints: "address:port" to listen on, "host:port[:weight]" for backends.
import { lookup } from "node:dns/promises";
import { isIPv4 } from "node:net";
import type { Backend } from "../core/backends.js";
import { ConfigError } from "../errors.js";

/** Where kvlb listens for clients unless told otherwise. */
export const DEFAULT_LISTEN = "127.0.0.1:11311";

export interface Endpoint {
  address: string;
  port: number;
}

function port(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new ConfigError(`${what}: port must be 1-65535`);
  return n;
}

/** "ADDR:PORT"; a mistake is shown with `example`, a right value for the setting being read. */
export function parseListen(text: string, example = DEFAULT_LISTEN): Endpoint {
  const m = /^([^:]+):(\d+)$/.exec(text);
  if (!m || !isIPv4(m[1] ?? "")) throw new ConfigError(`${text}: expected an IPv4 address and port, like ${example}`);
  return { address: m[1] ?? "", port: port(m[2] ?? "", text) };
}

export interface BackendSpec {
  host: string;
  port: number;
  weight: number;
}

export function parseBackend(text: string): BackendSpec {
  const m = /^([^:]+):(\d+)(?::(\d+))?$/.exec(text);
  if (!m) throw new ConfigError(`${text}: expected host:port or host:port:weight, like 127.0.0.1:11211:2`);
  const weight = m[3] === undefined ? 1 : Number(m[3]);
  if (!Number.isInteger(weight) || weight < 1) throw new ConfigError(`${text}: weight must be a whole number >= 1`);
  return { host: m[1] ?? "", port: port(m[2] ?? "", text), weight };
}

/**
 * Resolves names to IPv4 addresses; ketama still hashes the name as written. Two entries that
 * reach one server are refused: the ring would split its keys between two names, and the
 * replies of one could not be told from the other's.
 */
export async function resolveBackends(specs: readonly BackendSpec[]): Promise<Backend[]> {
  if (specs.length === 0)
    throw new ConfigError("no backends: give --backend host:port, or list backends in the --config file");
  if (specs.length > 64) throw new ConfigError(`${specs.length} backends: kvlb takes at most 64`);
  const resolved = await Promise.all(
    specs.map(async (s) => {
      if (isIPv4(s.host)) return { ...s, address: s.host };
      try {
        const r = await lookup(s.host, { family: 4 });
        return { ...s, address: r.address };
      } catch {
        throw new ConfigError(`${s.host}: cannot resolve this backend's name to an IPv4 address`);
      }
    }),
  );
  const seen = new Map<string, Backend>();
  for (const b of resolved) {
    const where = `${b.address}:${b.port}`;
    const first = seen.get(where);
    if (first) {
      throw new ConfigError(
        `backends ${first.host}:${first.port} and ${b.host}:${b.port} are the same server (${where}): list it once`,
      );
    }
    seen.set(where, b);
  }
  return resolved;
}
