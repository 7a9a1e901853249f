// Waiting for a process the benchmarks start to listen: whether a TCP port takes a connection,
// and a wait for a condition with a deadline.
import { connect } from "node:net";

/** Whether 127.0.0.1:port (or host:port) takes a TCP connection now. */
export function acceptsTcp(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on("error", () => resolve(false));
  });
}

/** Resolves once `check` holds; throws "WHAT did not happen within MS ms" after `ms`. */
export async function waitUntil(check: () => Promise<boolean>, what: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > end) throw new Error(`${what} did not happen within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
