// The reply memcached gives a multi-key get, built from the servers themselves: each key is
// asked of its own server (libmemcached's ketama places it) on a line of its own, and the answers
// follow one another in the order of the keys, under one END. memcached answers a get line's keys
// in the order they were asked, so this is what one server holding every key would send.
import { libmemcachedHomes } from "./ketama-oracle.js";

/** Asks a server a one-key line and gives its whole answer, END included. */
export type AskServer = (port: number, line: string) => Promise<string>;

/** `${command} k1 k2 …` as the servers answer it, key by key, in the order of `keys`. */
export async function serversAnswer(
  ports: readonly number[],
  ask: AskServer,
  command: string,
  keys: readonly string[],
): Promise<string> {
  const homes = libmemcachedHomes(
    ports.map((port) => ({ host: "127.0.0.1", port })),
    keys,
  );
  let values = "";
  for (const [i, key] of keys.entries()) {
    const answer = await ask(ports[homes[i] ?? 0] ?? 0, `${command} ${key}\r\n`);
    if (!answer.endsWith("END\r\n")) throw new Error(`${command} ${key}: ${JSON.stringify(answer)}`);
    values += answer.slice(0, -"END\r\n".length);
  }
  return values;
}
