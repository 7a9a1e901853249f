// kvlb top: a live view of a running balancer, its per-backend load and its hot keys, redrawn
// every second from the admin API. q or Ctrl-C leaves it.
import { parseArgs } from "node:util";
import type { StatsView } from "../control/stats-view.js";
import type { HotKey } from "../worker/messages.js";
import { adminClientOf, adminClientOptions, adminClientUsage } from "./admin-client.js";
import { numberFlag, whole } from "./flags.js";
import { count, percent, printable, table } from "../util/table.js";
import { backendState, moverText } from "./stats.js";
import { imbalance } from "../util/imbalance.js";

export const topUsage = `options:
${adminClientUsage}
  --interval MS             refresh period (default 1000)
  --count N                 stop after N screens (default: until q or Ctrl-C)
`;

interface Sample {
  at: number;
  stats: StatsView;
  hot: HotKey[];
}

const BAR = 30;
const HOT_ROWS = 15;

export function topScreen(prev: Sample, now: Sample): string[] {
  const seconds = Math.max((now.at - prev.at) / 1000, 0.001);
  const rate = (a: number, b: number): number => (b - a) / seconds;
  const s = now.stats;
  const keys = s.keysObserved - prev.stats.keysObserved;
  const cached = s.datagrams.answeredFromCache - prev.stats.datagrams.answeredFromCache;
  const loads = s.backends.map((b, i) => b.requests - (prev.stats.backends[i]?.requests ?? 0));
  const total = loads.reduce((a, b) => a + b, 0);
  const peak = Math.max(...loads, 0);
  const imb = imbalance(
    loads,
    s.backends.map((b) => b.weight),
  );
  const drops =
    Object.values(s.drops).reduce((a, b) => a + b, 0) - Object.values(prev.stats.drops).reduce((a, b) => a + b, 0);
  return [
    `kvlb top  ${s.listen}  ${new Date(now.at).toLocaleTimeString("en-GB")}  (q to quit)`,
    `keys ${count(keys / seconds)}/s   answered by kvlb ${percent(keys === 0 ? 0 : cached / keys)}   ` +
      `NAT ${count(s.nat.used)}/${count(s.nat.capacity)}   drops ${count(drops / seconds)}/s`,
    "",
    ...table(
      ["backend", "req/s", "share", "load", "timeouts/s", "state"],
      s.backends.map((b, i) => {
        const load = loads[i] ?? 0;
        const width = peak === 0 ? 0 : Math.round((load / peak) * BAR);
        return [
          b.backend,
          count(load / seconds),
          percent(total === 0 ? 0 : load / total),
          `${"#".repeat(width)}${".".repeat(BAR - width)}`,
          count(rate(prev.stats.backends[i]?.timeouts ?? 0, b.timeouts)),
          backendState(b.health),
        ];
      }),
      [0, 3],
    ),
    `imbalance (max share/weight share) ${total === 0 ? "-" : imb.toFixed(2)}`,
    ...migrationLine(prev.stats, s, seconds),
    "",
    ...table(
      ["hot key", "estimate", "layer"],
      now.hot.slice(0, HOT_ROWS).map((k) => [printable(k.key), count(k.estimate), k.layer]),
    ),
    ...(now.hot.length === 0 ? ["(no hot keys yet)"] : []),
  ];
}

export async function topCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      ...adminClientOptions,
      interval: { type: "string", default: "1000" },
      count: { type: "string" },
    },
    strict: true,
  });
  const interval = numberFlag("interval", values.interval, 1000, (n) => Number.isInteger(n) && n >= 100);
  const screens = numberFlag("count", values.count, Infinity, whole);
  const admin = adminClientOf(values);
  const sample = async (): Promise<Sample> => {
    const [stats, hot] = await Promise.all([admin.stats(), admin.hotKeys()]);
    return { at: Date.now(), stats, hot };
  };
  const tty = process.stdout.isTTY;
  let quit: () => void = () => undefined;
  const quitting = new Promise<void>((resolve) => (quit = resolve));
  const onKey = (d: Buffer): void => {
    if (d[0] === 0x71 || d[0] === 0x03) quit(); // q, Ctrl-C
  };
  process.once("SIGINT", quit);
  if (process.stdin.isTTY) {
    process.stdin.setRawMode(true);
    process.stdin.on("data", onKey);
  }
  if (tty) process.stdout.write("\x1b[?25l");
  try {
    let prev = await sample();
    for (let shown = 0; shown < screens; shown++) {
      const stop = await Promise.race([
        quitting.then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), interval)),
      ]);
      if (stop) break;
      const now = await sample();
      const screen = topScreen(prev, now).join("\n");
      process.stdout.write(tty ? `\x1b[H\x1b[2J${screen}\n` : `${screen}\n\n`);
      prev = now;
    }
  } finally {
    if (tty) process.stdout.write("\x1b[?25h");
    if (process.stdin.isTTY) {
      process.stdin.setRawMode(false);
      process.stdin.off("data", onKey);
      process.stdin.pause();
    }
    process.off("SIGINT", quit);
  }
  return 0;
}

/** While a live migration window is open: how fast moved keys are answered by their old servers
 * and copied to their new ones. */
export function migrationLine(prev: StatsView, now: StatsView, seconds: number): string[] {
  const m = now.migration;
  if (!m.open) return [];
  const per = (a: number, b: number): string => count((b - a) / seconds);
  return [
    `migrating  ${per(prev.migration.fallbacks, m.fallbacks)}/s gets from old servers, ` +
      `${per(prev.migration.copied, m.copied)}/s keys copied (${count(m.copied)} in all), ` +
      `${per(prev.migration.oldDeletes, m.oldDeletes)}/s deletes at old servers`,
    ...(m.last ? [`           ${moverText(m.last)}`] : []),
  ];
}
