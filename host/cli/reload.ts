// kvlb reload: a running kvlb reads its config file again and applies what changed (the
// backends and their weights, the timeout, health checks, who may be answered), between bursts.
// The same as SIGHUP to it, or POST /config on its admin API.
import { parseArgs } from "node:util";
import { adminClientOf, adminClientOptions, adminClientUsage } from "./admin-client.js";

export const reloadUsage = `options:
${adminClientUsage}
A config that does not load, or that changes what only a restart can (listen, admin, tcp, cache
sizes, the detector), is refused with one line, and nothing changes.
`;

export async function reloadCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...adminClientOptions }, strict: true });
  const r = await adminClientOf(values).reload();
  for (const line of r.lines) process.stdout.write(`${line}\n`);
  return 0;
}
