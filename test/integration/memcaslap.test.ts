// libmemcached's load tool through kvlb: memcaslap -U checks ids, sequence numbers and datagram
// counts on every reply, and counts what goes missing. A short run here; the 10 s run is
// quoted in the notes.
import test from "ava";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startCluster, type Cluster } from "../support/cluster.js";
import { portBase } from "../support/ports.js";

let cluster: Cluster;
test.before(async () => {
  cluster = await startCluster(portBase("memcaslap"), 3);
});
test.after.always(async () => {
  await cluster?.stop();
});

function figure(out: string, name: string): number {
  const m = new RegExp(`^${name}: (\\d+)`, "m").exec(out);
  if (!m) throw new Error(`memcaslap printed no ${name}:\n${out}`);
  return Number(m[1]);
}

test("memcaslap -U through kvlb: no drops, no disorder, no timeouts, no misses", async (t) => {
  const { stdout } = await promisify(execFile)(
    "memcaslap",
    ["-s", `127.0.0.1:${cluster.kvlbPort}`, "-U", "-t", "4s", "-T", "1", "-c", "4"],
    { timeout: 30_000 },
  );
  for (const name of ["packet_drop", "packet_disorder", "udp_timeout", "get_misses"]) {
    t.is(figure(stdout, name), 0, name);
  }
  t.true(figure(stdout, "cmd_get") > 1000, "memcaslap got answers");
  const stats = (await cluster.stats()) as unknown as { datagrams: Record<string, number> };
  t.true((stats.datagrams["fromClients"] ?? 0) >= figure(stdout, "cmd_get"), "its traffic went through kvlb");
});
