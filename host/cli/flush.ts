// kvlb flush: a running kvlb drops everything its caches hold (the backends keep theirs).
import { parseArgs } from "node:util";
import { adminClientOf, adminClientOptions, adminClientUsage } from "./admin-client.js";

export const flushUsage = `options:
${adminClientUsage}
`;

export async function flushCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...adminClientOptions }, strict: true });
  await adminClientOf(values).flush();
  process.stdout.write("kvlb's caches are empty; every get goes to its backend until it is hot again\n");
  return 0;
}
