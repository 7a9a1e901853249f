// Where libmemcached's weighted ketama puts keys: test/support/ketama-oracle.c, built once per
// test process against Debian's libmemcached. The tests' oracle for placement, independent of
// kvlb's own ring.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

let binary: string | undefined;

function oracle(): string {
  if (binary && existsSync(binary)) return binary;
  const dir = mkdtempSync(join(tmpdir(), "kvlb-ketama-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const flags = execFileSync("pkg-config", ["--cflags", "--libs", "libmemcached"], { encoding: "utf8" });
  const out = join(dir, "oracle");
  execFileSync("cc", ["-o", out, "test/support/ketama-oracle.c", ...flags.trim().split(/\s+/)]);
  binary = out;
  return out;
}

export interface OracleServer {
  host: string;
  port: number;
  weight?: number;
}

/** For each key, the index of the server libmemcached picks among `servers` (in list order). */
export function libmemcachedHomes(servers: readonly OracleServer[], keys: readonly string[]): number[] {
  const args = servers.map((s) => `${s.host}:${s.port}:${s.weight ?? 1}`);
  const out = execFileSync(oracle(), args, { input: keys.join("\n") + "\n", encoding: "utf8" });
  return out.trim().split("\n").map(Number);
}
