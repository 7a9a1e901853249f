// kvlb status and kvlb detach: what kvlb's XDP program is doing on which interfaces, and
// removing it by hand when a kvlb that attached it is gone.
import { parseArgs } from "node:util";
import { readdirSync } from "node:fs";
import { queryXdp, detachXdp, LibbpfError } from "libbpf-ts";
import { adminClientOf, adminClientOptions, adminClientUsage, type XdpStatus } from "./admin-client.js";
import { table, count } from "../util/table.js";
import { requireRoot, STEER_PROGRAM } from "../datapath/afxdp/steering.js";
import { ConfigError } from "../errors.js";

export const statusUsage = `options:
${adminClientUsage}
  --json                    the document instead of the tables
`;

export const detachUsage = `options:
  --force                   remove an XDP program that is not kvlb's
`;

export function statusText(s: XdpStatus, admin = "the admin API"): string {
  if (s.datapath === "socket" && s.interfaces.length === 0) {
    return `the kvlb at ${admin} runs on kernel UDP sockets (kvlb run), without XDP: no interface to show (kvlb stats shows its traffic)`;
  }
  const lines: string[] = [];
  for (const i of s.interfaces) {
    lines.push(`${i.ifname}: ${i.programName} (id ${i.programId}), ${i.mode} mode`);
    const counters = Object.entries(i.counters).filter(([, v]) => v > 0);
    lines.push(
      ...table(
        ["xdp verdict", "frames"],
        counters.map(([k, v]) => [k, count(v)]),
      ).map((l) => `  ${l}`),
    );
    const sock = Object.entries(i.socket ?? {}).filter(([, v]) => v > 0);
    if (sock.length > 0) lines.push(`  AF_XDP socket: ${sock.map(([k, v]) => `${k} ${count(v)}`).join(", ")}`);
  }
  return lines.join("\n");
}

/** Interfaces that carry kvlb's program now, found by asking the kernel. */
function kernelView(): string[] {
  const out: string[] = [];
  for (const name of readdirSync("/sys/class/net")) {
    try {
      const a = queryXdp(name);
      if (a) out.push(`${name}: ${a.programName} (id ${a.programId}), ${a.mode} mode`);
    } catch {
      // gone while we looked
    }
  }
  return out;
}

export async function statusCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { ...adminClientOptions, json: { type: "boolean", default: false } },
    strict: true,
  });
  let s: XdpStatus;
  const admin = adminClientOf(values);
  try {
    s = await admin.xdp();
  } catch (e) {
    const seen = kernelView();
    const lines = seen.length > 0 ? seen.join("\n") : "no XDP program is attached to any interface";
    console.log(`${(e as Error).message}\nwhat the kernel shows:\n${lines}`);
    return 1;
  }
  console.log(values.json ? JSON.stringify(s, null, 2) : statusText(s, admin.address));
  return 0;
}

export function detachCommand(args: string[]): number {
  const { values, positionals } = parseArgs({
    args,
    options: { force: { type: "boolean", default: false } },
    allowPositionals: true,
    strict: true,
  });
  const name = positionals[0];
  if (!name || positionals.length > 1) throw new ConfigError("detach: name one interface, as in: kvlb detach eth0");
  requireRoot("detaching");
  try {
    const present = queryXdp(name);
    if (!present) {
      console.log(`${name}: no XDP program attached`);
      return 0;
    }
    if (present.programName !== STEER_PROGRAM && !values.force) {
      throw new ConfigError(
        `${name}: the XDP program there is '${present.programName}' (id ${present.programId}), not kvlb's; --force removes it`,
      );
    }
    detachXdp(name);
    console.log(`${name}: detached ${present.programName} (id ${present.programId}, ${present.mode} mode)`);
    return 0;
  } catch (e) {
    if (e instanceof LibbpfError) throw new ConfigError(e.message);
    throw e;
  }
}
