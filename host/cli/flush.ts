// kvlb flush: a running kvlb drops everything its caches hold (the backends keep theirs).
import { parseArgs } from "node:util";
import { adminClientOf, adminClientOptions } from "./admin-client.js";

export const flushUsage = `flush options:
  --admin ADDR:PORT         the admin API of a running kvlb (default 127.0.0.1:9911)
  --admin-token-file FILE   its token, if it has one (or set KVLB_ADMIN_TOKEN)
`;

export async function flushCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { ...adminClientOptions }, strict: true });
  await adminClientOf(values).flush();
  process.stdout.write("kvlb's caches are empty; every get goes to its backend until it is hot again\n");
  return 0;
}
