// A load for failover tests, runnable in a namespace (node --import=tsx failover-load.ts HOST
// PORT SECONDS KEYS): 4 clients, each the only writer and reader of its own keys, one request at
// a time, 70% gets and 30% sets of fresh values. Prints every operation as JSON lines' array:
// what was asked, when, and what came back, for failover-check.ts to judge.
import { UdpClient } from "./udp-client.js";

export interface Op {
  key: string;
  op: "get" | "set";
  /** The value a set wrote. */
  value?: string;
  reply: string;
  start: number;
  end: number;
}

const REPLY = /(END|STORED|NOT_STORED|ERROR[^\r]*)\r\n$/;

export async function failoverLoad(
  host: string,
  port: number,
  seconds: number,
  keys: readonly string[],
): Promise<Op[]> {
  const ops: Op[] = [];
  const until = Date.now() + seconds * 1000;
  const clients = 4;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const mine = keys.filter((_, i) => i % clients === c);
      const client = new UdpClient(port, host);
      for (let n = 0; Date.now() < until; n++) {
        const key = mine[n % mine.length] ?? "";
        const set = n % 10 < 3;
        const value = `${key}-${c}-${n}`;
        const start = Date.now();
        const m = await client.request(
          set ? `set ${key} 0 0 ${value.length}\r\n${value}\r\n` : `get ${key}\r\n`,
          REPLY,
          1500,
        );
        const reply = Buffer.concat(m.map((x) => x.payload)).toString("latin1");
        ops.push({ key, op: set ? "set" : "get", ...(set ? { value } : {}), reply, start, end: Date.now() });
      }
      client.close();
    }),
  );
  return ops;
}

if (process.argv[1]?.endsWith("failover-load.ts")) {
  const [host = "", port = "", seconds = "", count = ""] = process.argv.slice(2);
  const keys = Array.from({ length: Number(count) }, (_, i) => `fo-${i}`);
  console.log(JSON.stringify(await failoverLoad(host, Number(port), Number(seconds), keys)));
}
