// The consistency workload: clients at once, each on its own socket, reading and writing a few
// keys hot enough to be cached, with every operation's start and end recorded for the checker.
import { UdpClient } from "./udp-client.js";
import { checkHistory, type Write, type Read, type Violation } from "./history.js";

export interface HistoryLoad {
  clients: number;
  opsPerClient: number;
  keys: string[];
  writeShare: number;
}

export interface HistoryResult {
  reads: number;
  writes: number;
  unanswered: number;
  violations: Violation[];
}

async function replyText(c: UdpClient, payload: string, until: RegExp): Promise<string | undefined> {
  const m = await c.request(payload, until);
  const text = Buffer.concat(m.map((x) => x.payload)).toString("latin1");
  return until.test(text) ? text : undefined;
}

/** Runs the load against host:port and checks the history; `between` runs after the initial sets. */
export async function runHistoryLoad(
  port: number,
  host: string,
  load: HistoryLoad,
  between: () => Promise<void> = async () => undefined,
): Promise<HistoryResult> {
  const writes: Write[] = [];
  const reads: Read[] = [];
  const setup = new UdpClient(port, host);
  for (const key of load.keys) {
    const start = performance.now();
    const ok = await replyText(setup, `set ${key} 0 0 4\r\ninit\r\n`, /STORED\r\n$/);
    writes.push({ key, value: "init", start, end: ok ? performance.now() : Infinity });
  }
  setup.close();
  await between();
  let unanswered = 0;
  const client = async (id: number): Promise<void> => {
    const c = new UdpClient(port, host);
    let seed = id * 7919 + 1;
    const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647;
    for (let n = 0; n < load.opsPerClient; n++) {
      const key = load.keys[Math.floor(random() * load.keys.length)] ?? "";
      const start = performance.now();
      if (random() < load.writeShare) {
        const value = `c${id}-${n}`;
        const ok = await replyText(c, `set ${key} 0 0 ${value.length}\r\n${value}\r\n`, /STORED\r\n$/);
        writes.push({ key, value, start, end: ok ? performance.now() : Infinity });
        if (!ok) unanswered++;
      } else {
        const text = await replyText(c, `get ${key}\r\n`, /END\r\n$/);
        if (text === undefined) {
          unanswered++;
          continue;
        }
        const m = /^VALUE \S+ 0 \d+\r\n(.*)\r\nEND\r\n$/s.exec(text);
        reads.push({ key, value: m?.[1], start, end: performance.now() });
      }
    }
    c.close();
  };
  await Promise.all(Array.from({ length: load.clients }, (_, i) => client(i)));
  return { reads: reads.length, writes: writes.length, unanswered, violations: checkHistory(writes, reads) };
}
