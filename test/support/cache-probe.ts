// Where a key lives and whether kvlb answers it itself, asked of the memcached servers
// directly: a key's home is its ketama backend (the core's ring, which the ketama tests check
// against libmemcached), and kvlb answers a key from its cache when that backend's get_hits do
// not move while kvlb is asked for it.
import { makeCore } from "./core.js";
import { UdpClient } from "./udp-client.js";
import { setBackends, routeKey } from "../../host/core/backends.js";

const REPLY = /(END|STORED|OK|HD|TOUCHED|SERVER_ERROR[^\r]*|CLIENT_ERROR[^\r]*)\r\n$/;

/** A request's whole reply as text, waiting for its end (or `quietMs` of silence). */
export async function text(c: UdpClient, payload: string | Buffer, until = REPLY, quietMs = 1500): Promise<string> {
  return Buffer.concat((await c.request(payload, until, quietMs)).map((m) => m.payload)).toString("latin1");
}

/** What the server at 127.0.0.1:port answers to one request, over a UDP socket of its own:
 * a server asked directly, not through kvlb. */
export async function askServer(port: number, payload: string, until = REPLY): Promise<string> {
  const c = new UdpClient(port);
  try {
    return await text(c, payload, until);
  } finally {
    c.close();
  }
}

/** Sets each key to its own name through the UDP port (kvlb's), one at a time; throws at a reply
 * other than STORED. */
export async function setToOwnNames(port: number, keys: readonly string[]): Promise<void> {
  const c = new UdpClient(port);
  try {
    for (const k of keys) {
      const r = await text(c, `set ${k} 0 0 ${k.length}\r\n${k}\r\n`);
      if (r !== "STORED\r\n") throw new Error(`set ${k}: ${r}`);
    }
  } finally {
    c.close();
  }
}

/** The index of the backend (of these ports on 127.0.0.1) that ketama gives `key`. */
export async function homeIndex(ports: readonly number[], key: string): Promise<number> {
  const core = await makeCore();
  setBackends(
    core,
    ports.map((port) => ({ host: "127.0.0.1", address: "127.0.0.1", port, weight: 1 })),
  );
  return routeKey(core, key);
}

/** A memcached server's get_hits, asked directly. */
export async function getHits(port: number): Promise<number> {
  const c = new UdpClient(port);
  try {
    return Number(/STAT get_hits (\d+)/.exec(await text(c, "stats\r\n"))?.[1] ?? NaN);
  } finally {
    c.close();
  }
}

/** Whether kvlb (through `client`) answers `key` itself: its backend's get_hits stay put over 5 gets. */
export async function fromCache(client: UdpClient, ports: readonly number[], key: string): Promise<boolean> {
  const port = ports[await homeIndex(ports, key)] ?? 0;
  const before = await getHits(port);
  for (let i = 0; i < 5; i++) await text(client, `get ${key}\r\n`);
  return (await getHits(port)) === before;
}

/** Gets `key` through kvlb until kvlb answers it from its cache. */
export async function makeCached(client: UdpClient, ports: readonly number[], key: string): Promise<void> {
  for (let round = 0; round < 20; round++) {
    for (let i = 0; i < 30; i++) await text(client, `get ${key}\r\n`);
    if (await fromCache(client, ports, key)) return;
  }
  throw new Error(`${key} never came from kvlb's cache`);
}
