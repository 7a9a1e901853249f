// A steady get load: clients at once, each on its own socket, asking one request at a time
// for keys of a small hot set, until told to stop. Counts what was sent and what came back; a
// request unanswered within a second is lost.
import { UdpClient } from "./udp-client.js";

export interface SteadyLoadResult {
  sent: number;
  answered: number;
  lost: number;
  /** The first few wrong answers ("" for none at all), with the key asked for. */
  wrong: string[];
}

export interface SteadyLoad {
  done: Promise<SteadyLoadResult>;
  stop(): void;
}

export const STEADY_KEYS = Array.from({ length: 8 }, (_, i) => `steady-${i}`);

/** Sets the hot keys, so that every get has a value to return. */
export async function preloadSteadyKeys(port: number, host: string): Promise<void> {
  const c = new UdpClient(port, host);
  for (const key of STEADY_KEYS) {
    const reply = await c.text(`set ${key} 0 0 5\r\nvalue\r\n`);
    if (reply !== "STORED\r\n") throw new Error(`set ${key}: ${JSON.stringify(reply)}`);
  }
  c.close();
}

export function startSteadyLoad(port: number, host: string, clients = 4): SteadyLoad {
  let running = true;
  const result: SteadyLoadResult = { sent: 0, answered: 0, lost: 0, wrong: [] };
  const one = async (id: number): Promise<void> => {
    const c = new UdpClient(port, host);
    for (let n = 0; running; n++) {
      const key = STEADY_KEYS[(id + n) % STEADY_KEYS.length] ?? "";
      result.sent++;
      const reply = await c.text(`get ${key}\r\n`);
      if (reply === `VALUE ${key} 0 5\r\nvalue\r\nEND\r\n`) result.answered++;
      else {
        result.lost++;
        if (result.wrong.length < 5) result.wrong.push(`${key} at ${Date.now()}: ${JSON.stringify(reply)}`);
      }
    }
    c.close();
  };
  const done = Promise.all(Array.from({ length: clients }, (_, i) => one(i))).then(() => result);
  return { done, stop: () => (running = false) };
}
