// A connection's get of several keys over UDP backends: each backend's keys go in one line, and
// memcached answers each value in a message of its own (seen on the wire from memcached 1.6), so
// the core gives each message its key's place in the reply, for the host to put the pieces in
// order. The backends' answers are written as memcached writes them.
import test from "ava";
import { makeCore } from "../support/core.js";
import { streamBurst, ipv4, type Sent, type BackendIn } from "../support/stream-driver.js";
import { setBackends, routeKey } from "../../host/core/backends.js";
import type { Core } from "../../host/core/core.js";

const CONN = 9;
const backends = [
  { host: "10.0.2.1", address: "10.0.2.1", port: 11211, weight: 1 },
  { host: "10.0.2.2", address: "10.0.2.2", port: 11211, weight: 1 },
];
const ORDER_LOST = 0xfffd;
const ORDER_END = 0xffff;

async function balancer(): Promise<Core> {
  const core = await makeCore({}, 1 << 22);
  setBackends(core, backends);
  return core;
}

/** Each backend's get line from this burst: its request id and its keys. */
function lines(core: Core, sent: readonly Sent[]): { backend: number; id: number; keys: string[] }[] {
  return sent
    .filter((s) => s.kind === "backend" && s.payload.toString("latin1").startsWith("get "))
    .map((s) => ({
      backend: backends.findIndex((b) => ipv4(b.address) === s.addr),
      id: s.seq,
      keys: s.payload.toString("latin1").trim().split(" ").slice(1),
    }));
}

/** memcached's answer to a get line over UDP: a message per value held, END with the last. */
function answer(line: { backend: number; id: number; keys: string[] }, held: (k: string) => boolean): BackendIn[] {
  const values = line.keys.filter(held).map((k) => `VALUE ${k} 0 ${k.length}\r\n${k}\r\n`);
  if (values.length === 0) values.push("");
  values[values.length - 1] += "END\r\n";
  const addr = ipv4(backends[line.backend]?.address ?? "");
  return values.map((body) => ({ addr, port: 11211, id: line.id, body }));
}

const pieces = (sent: readonly Sent[]): { order: number; text: string }[] =>
  sent
    .filter((s) => s.kind === "stream" && s.addr === CONN)
    .map((s) => ({ order: s.order, text: s.payload.toString("latin1") }));

test("each value a backend sends for a connection's multi-key get carries its key's place, a key asked twice each of its places, and the END the last place", async (t) => {
  const core = await balancer();
  const keys = ["o0", "o1", "o2", "o3", "o4", "o5", "o6", "o7"];
  const homes = keys.map((k) => routeKey(core, k));
  t.true(new Set(homes).size === 2, "the keys are on both backends");
  const asked = [...keys, "o2"];
  const out = streamBurst(core, [{ conn: CONN, seq: 3, bytes: Buffer.from(`get ${asked.join(" ")}\r\n`) }]);
  const sentLines = lines(core, out.sent);
  t.is(sentLines.length, 2, "one line to each backend");
  const missing = "o5";
  // the second backend answers first
  const replies = [...sentLines].reverse().flatMap((l) => answer(l, (k) => k !== missing));
  const got = pieces(streamBurst(core, [], replies).sent);
  const placeOf = (i: number): number => i + 1;
  const expected = asked
    .map((k, i) => ({ order: placeOf(i), text: `VALUE ${k} 0 ${k.length}\r\n${k}\r\n` }))
    .filter((p) => !p.text.includes(missing));
  t.deepEqual(
    [...got].sort((a, b) => a.order - b.order),
    [...expected, { order: ORDER_END, text: "END\r\n" }],
  );
  t.notDeepEqual(
    got.map((p) => p.order),
    [...got].map((p) => p.order).sort((a, b) => a - b),
    "the pieces came out of order, and their places put them back",
  );
});

test("a value whose key's place was overwritten by later gets goes after the values placed, and the reply still ends in one END", async (t) => {
  const core = await balancer();
  const first = streamBurst(core, [{ conn: CONN, seq: 1, bytes: Buffer.from("get p0 p1 p2 p3\r\n") }]);
  const firstLines = lines(core, first.sent);
  // more than the ring holds (16,384 places) in later gets of 200 keys each
  let seq = 2;
  let placed = 0;
  while (placed <= 16_384) {
    const text = `get ${Array.from({ length: 200 }, (_, i) => `f${seq}-${i}`).join(" ")}\r\n`;
    const r = streamBurst(core, [{ conn: CONN + 1, seq, bytes: Buffer.from(text) }]);
    if (r.taken[0]?.requests !== 1) throw new Error(`get ${seq} was not taken`);
    placed += 200;
    seq++;
  }
  const got = pieces(
    streamBurst(
      core,
      [],
      firstLines.flatMap((l) => answer(l, () => true)),
    ).sent,
  );
  t.is(got.length, 5, "four values and the END");
  t.true(
    got.filter((p) => p.text.startsWith("VALUE")).every((p) => p.order === ORDER_LOST),
    "each value goes after any value placed",
  );
  t.deepEqual(
    got.filter((p) => p.order === ORDER_END),
    [{ order: ORDER_END, text: "END\r\n" }],
  );
});
