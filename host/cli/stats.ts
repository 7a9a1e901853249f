// kvlb stats: a running balancer's /stats, laid out for a person (--json for the raw document).
import { parseArgs } from "node:util";
import type { StatsView } from "../control/stats-view.js";
import type { MigrationProgress } from "../control/reload-status.js";
import { adminClientOf, adminClientOptions, adminClientUsage } from "./admin-client.js";
import { count, percent, bytes, table } from "../util/table.js";
import { imbalance } from "../util/imbalance.js";

export const statsUsage = `options:
${adminClientUsage}
  --json                    print /stats as JSON
  --fresh                   wait for the workers' next report (at most 2 s), so that it counts
                            everything sent before the command
`;

const sum = (o: Record<string, number>): number => Object.values(o).reduce((a, b) => a + b, 0);
const pairs = (o: Record<string, number>): string =>
  Object.entries(o)
    .map(([k, v]) => `${k} ${count(v)}`)
    .join(", ");

/** "up", or "DOWN since 10:06:44: why". */
export function backendState(h: StatsView["backends"][number]["health"]): string {
  if (!h) return "-";
  if (h.state === "up") return h.restarts + h.flushes > 0 ? `up (${h.restarts} restarts, ${h.flushes} flushes)` : "up";
  return `DOWN since ${new Date(h.since).toLocaleTimeString("en-GB")}: ${h.reason}`;
}

/** The hot set's bar for a backend's keys: "1" as configured, "1/8" when lowered eightfold. */
function barText(admit: number | undefined): string {
  if (admit === undefined) return "-";
  return admit >= 1 ? "1" : `1/${Math.round(1 / admit)}`;
}

export function statsText(s: StatsView): string[] {
  const total = s.backends.reduce((a, b) => a + b.requests, 0);
  return [
    `kvlb balancing ${s.listen}`,
    "",
    ...table(
      ["backend", "weight", "requests", "share", "replies", "timeouts", "in flight", "L2 bar", "state"],
      s.backends.map((b) => [
        b.backend,
        String(b.weight),
        count(b.requests),
        percent(total === 0 ? 0 : b.requests / total),
        count(b.replies),
        count(b.timeouts),
        count(b.outstanding),
        barText(b.admit),
        backendState(b.health),
      ]),
    ),
    `imbalance  ${
      total === 0
        ? "-"
        : imbalance(
            s.backends.map((b) => b.requests),
            s.backends.map((b) => b.weight),
          ).toFixed(2)
    } (the busiest backend's share of requests over the share its weight gives it; 1 is even)`,
    "",
    `cache      ${percent(s.cache.hitRatio)} of ${count(s.keysObserved)} keys answered by kvlb`,
    `  L1       ${count(s.cache.l1Hits)} hits, ${count(s.cache.l1Misses)} misses, ${count(s.cache.l1Keys)} keys in ${bytes(s.cache.l1Bytes)}`,
    `  L2       ${count(s.cache.l2Hits)} hits, ${count(s.cache.l2Misses)} misses, ${count(s.cache.l2Keys)} keys`,
    `  fills    ${count(s.cache.fills)} from ${count(s.cache.fillRequests)} asks, ${count(s.cache.staleFillsRefused)} refused as stale, ` +
      `${count(s.cache.expired)} expired, ${count(s.cache.purged)} purged`,
    `  waits    ${count(s.cache.readsParked)} gets waited for a write of their key, ${count(s.cache.parkedFromCache)} then answered from the cache`,
    `replicas   ${count(s.replicas.reads)} gets answered by copies, ${count(s.replicas.fallbacks)} copy misses sent on; ` +
      `${count(s.replicas.made)} sets made, ${count(s.replicas.retired)} retired, ${count(s.replicas.copiesWritten)} copies written ` +
      `(${count(s.replicas.fills)} fills, ${count(s.replicas.setsCopied)} clients' sets copied)`,
    `hot keys   ${count(s.hotKeys)}`,
    `NAT        ${count(s.nat.used)} of ${count(s.nat.capacity)} in use, ${count(s.nat.overflow)} overflows, ${count(s.nat.timeouts)} timeouts`,
    `datagrams  ${pairs(s.datagrams)}`,
    `tcp        ${count(s.tcp.open)} connections open, ${count(s.tcp.requests)} requests; ${pairs(s.tcp)}`,
    ...(s.tcpBackends.connects > 0
      ? [`  backends ${count(s.tcpBackends.open)} connections open to backends; ${pairs(s.tcpBackends)}`]
      : []),
    ...(s.reload
      ? [
          `reloads    ${count(s.reload.applied)} applied, ${count(s.reload.refused)} refused` +
            (s.reload.last ? `; the last at ${s.reload.last.at}: ${s.reload.last.line}` : ""),
        ]
      : []),
    ...(s.migration.open || s.migration.last || s.migration.fallbacks + s.migration.oldDeletes + s.migration.copied > 0
      ? [
          `migration  ${s.migration.open ? "window open" : "no window open"}: ${count(s.migration.fallbacks)} gets ` +
            `answered by a moved key's old server, ${count(s.migration.copied)} keys copied to their new one ` +
            `(${count(s.migration.notCopied)} not), ${count(s.migration.oldDeletes)} deletes at old servers, ` +
            `${count(s.migration.busy)} deletes refused during a copy`,
          ...(s.migration.last ? [`           ${moverText(s.migration.last)}`] : []),
        ]
      : []),
    ...(s.retired.length > 0
      ? [
          `retired    ${s.retired.map((b) => `${b.backend} (${count(b.outstanding)} in flight)`).join(", ")}: ` +
            "off the ring since a reload, their replies still taken",
        ]
      : []),
    `drops      ${count(sum(s.drops))}: ${pairs(s.drops)}`,
    `errors     ${pairs(s.errors)}`,
    ...(s.frames
      ? [
          `frames     ${count(s.frames.received)} received, ${count(s.frames.sent)} sent, ` +
            `next hop known for ${s.frames.nextHopsKnown} of ${s.backends.length} backends ` +
            `(${count(s.frames.noNextHop)} datagrams went through the kernel for want of one)`,
        ]
      : []),
    ...(s.workers ?? []).map(
      (w) =>
        `worker ${w.worker}   ${count(w.datagrams.fromClients)} requests, ${percent(w.cache.hitRatio)} from its cache, ` +
        `${count(w.requests)} to backends${w.writeEvents ? `, ${count(w.writeEvents.heard)} write events heard` : ""}`,
    ),
  ];
}

export async function statsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...adminClientOptions,
      json: { type: "boolean", default: false },
      fresh: { type: "boolean", default: false },
    },
    strict: true,
  });
  const stats = await adminClientOf(values).stats(values.fresh);
  process.stdout.write(values.json ? `${JSON.stringify(stats, null, 2)}\n` : `${statsText(stats).join("\n")}\n`);
  return 0;
}

/** The last migration's ranges and where its mover is, for a person. */
export function moverText(m: MigrationProgress): string {
  const ranges = `${count(m.ranges)} ranges (${(m.share * 100).toFixed(1)}% of the keys) moved`;
  const p = m.mover;
  switch (p.state) {
    case "off":
      return `${ranges}; no mover (migration.copiesPerSecond 0): keys are copied as gets find them`;
    case "listing":
      return `${ranges}; mover listing the servers' keys (${p.serversListed} of ${p.servers} servers, ${count(p.keysFound)} moved keys so far)`;
    default:
      return `${ranges}; mover ${p.state}: ${count(p.keysHanded)} of ${count(p.keysFound)} moved keys handed to the workers to copy`;
  }
}
