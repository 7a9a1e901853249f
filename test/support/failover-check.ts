// Judges a failover load (failover-load.ts) against what a client may see when one backend is
// sent SIGKILL at `killedAt` and is gone by `deadAt`: each key has one writer, so its value is
// known exactly, but for what the dying backend acknowledged between the two (it may have
// stored it just before it died, and lost it with it).
//   keys of the other backends: every get returns the last value acknowledged, every set STORED;
//   keys of the dead backend: from `recoveredAt` (the first moment from which every one of their
//   requests was answered) on, every set is STORED and every get returns the last value
//   acknowledged since the kill, or END when none was (its old items died with it).
import type { Op } from "./failover-load.js";

export interface FailoverVerdict {
  /** ms from the kill until every request for the dead backend's keys was answered. */
  failoverMs: number;
  healthyOps: number;
  healthyWrong: string[];
  deadKeyOps: number;
  deadKeyWrong: string[];
  /** Replies to the dead backend's keys between the kill and recoveredAt, by kind. */
  during: Record<string, number>;
}

const valueOf = (reply: string): string | undefined => /^VALUE \S+ \d+ \d+\r\n(.*)\r\nEND\r\n$/s.exec(reply)?.[1];

export function judgeFailover(
  ops: readonly Op[],
  home: (key: string) => number,
  dead: number,
  killedAt: number,
  deadAt: number,
  answered: (op: Op) => boolean = (op) => (op.op === "set" ? op.reply === "STORED\r\n" : /END\r\n$/.test(op.reply)),
): FailoverVerdict {
  const sorted = [...ops].sort((a, b) => a.start - b.start);
  const onDead = sorted.filter((o) => home(o.key) === dead);
  // the first moment after which every request for the dead backend's keys was answered
  let recoveredAt = killedAt;
  for (const o of onDead) if (o.start >= killedAt && !answered(o)) recoveredAt = Math.max(recoveredAt, o.end);
  const healthyWrong: string[] = [];
  const deadKeyWrong: string[] = [];
  const during: Record<string, number> = {};
  const acked = new Map<string, string | undefined>(); // key -> last value acknowledged (dead keys: since the kill)
  const maybeLost = new Map<string, string>(); // dead keys: a value the dying backend acknowledged
  for (const o of sorted) {
    const isDead = home(o.key) === dead;
    const wrong = isDead ? deadKeyWrong : healthyWrong;
    if (isDead && o.start >= killedAt && o.start < recoveredAt) {
      const kind = o.reply.split(/[\r ]/)[0] || "(nothing)";
      during[kind] = (during[kind] ?? 0) + 1;
      if (o.op === "set" && o.reply === "STORED\r\n") {
        if (o.end <= deadAt && o.value !== undefined) maybeLost.set(o.key, o.value);
        else {
          acked.set(o.key, o.value);
          maybeLost.delete(o.key);
        }
      }
      continue;
    }
    if (isDead && o.start < killedAt) {
      if (o.op === "set" && o.reply === "STORED\r\n") acked.set(o.key, undefined); // died with the backend
      continue;
    }
    if (o.op === "set") {
      if (o.reply === "STORED\r\n") {
        acked.set(o.key, o.value);
        maybeLost.delete(o.key);
      } else wrong.push(`${o.key}: set answered ${JSON.stringify(o.reply)} at ${o.start - killedAt} ms`);
      continue;
    }
    const want = acked.get(o.key);
    const got = o.reply === "END\r\n" ? undefined : valueOf(o.reply);
    const lost = maybeLost.get(o.key);
    const fine = got === want || (lost !== undefined && (got === undefined || got === lost));
    if (!fine || (got === undefined && o.reply !== "END\r\n")) {
      wrong.push(
        `${o.key}: get at ${o.start - killedAt} ms answered ${JSON.stringify(o.reply.slice(0, 60))}, want ${want ?? "END"}`,
      );
    }
  }
  return {
    failoverMs: recoveredAt - killedAt,
    healthyOps: sorted.length - onDead.length,
    healthyWrong: healthyWrong.slice(0, 5),
    deadKeyOps: onDead.length,
    deadKeyWrong: deadKeyWrong.slice(0, 5),
    during,
  };
}
