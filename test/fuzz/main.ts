// npm run fuzz [-- --count N --seed S --rate R]: hostile datagrams against kvlb in front of
// real memcached servers, hostile TCP clients (count / 5 requests, with the backends over UDP and
// then over TCP), then hostile frames through the core's frame layer. Prints progress,
// the counts and every failed check; exits 1 when a check failed.
import { parseArgs } from "node:util";
import { fuzzUdp } from "./udp-fuzz.js";
import { fuzzFrames } from "./frame-fuzz.js";
import { fuzzStreams, type StreamFuzzReport } from "./stream-fuzz.js";
import { portBase } from "../support/ports.js";

const { values } = parseArgs({
  options: {
    count: { type: "string", default: "1000000" },
    frames: { type: "string" },
    seed: { type: "string", default: "1" },
    rate: { type: "string", default: "40000" },
  },
});
const count = Number(values.count);
const frames = Number(values.frames ?? values.count);
const seed = Number(values.seed);
const rate = Number(values.rate);
for (const [name, v] of [
  ["--count", count],
  ["--frames", frames],
  ["--seed", seed],
  ["--rate", rate],
] as const) {
  if (!Number.isInteger(v) || v < 1) {
    console.error(`kvlb fuzz: ${name} ${String(v)}: a whole number, at least 1`);
    process.exit(2);
  }
}
const n = (x: number): string => x.toLocaleString("en-US");

console.log(`UDP: ${n(count)} hostile datagrams at ${n(rate)}/s, seed ${seed}, against kvlb and 3 memcached servers`);
const udp = await fuzzUdp({ count, seed, rate, basePort: portBase("fuzz-main"), progress: console.log });
console.log(
  `  sent ${n(udp.sent)} (ascii ${n(udp.byFamily.ascii)}, meta ${n(udp.byFamily.meta)}, binary ${n(udp.byFamily.binary)}, junk ${n(udp.byFamily.junk)}) in ${udp.seconds.toFixed(1)} s`,
);
console.log(
  `  kvlb counted ${n(udp.kvlbReceived)}; its socket's buffer dropped ${n(udp.kernelDropped)}; ${n(udp.repliesSeen)} replies came back`,
);
console.log(
  `  kvlb's counts: ${Object.entries(udp.kvlbCounters)
    .filter(([, v]) => v > 0)
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(", ")}`,
);

const streamRequests = Math.max(1, Math.round(count / 5));
const streams: [string, StreamFuzzReport][] = [];
for (const tcpBackends of [false, true]) {
  const name = tcpBackends ? "TCP (backends over TCP)" : "TCP (backends over UDP)";
  console.log(`${name}: ${n(streamRequests)} hostile requests over 64 connections, seed ${seed}`);
  const r = await fuzzStreams({
    requests: streamRequests,
    seed,
    connections: 64,
    basePort: portBase("fuzz-main") + (tcpBackends ? 400 : 200),
    tcpBackends,
    progress: console.log,
  });
  console.log(
    `  wrote ${n(r.bytesWritten)} bytes (ascii ${n(r.byFamily.ascii)}, meta ${n(r.byFamily.meta)}, binary ${n(r.byFamily.binary)}, junk ${n(r.byFamily.junk)}) ` +
      `over ${n(r.opened)} connections, ${n(r.closedByKvlb)} closed by kvlb; ${n(r.replyBytes)} reply bytes read; ${r.seconds.toFixed(1)} s`,
  );
  console.log(
    `  kvlb's counts: ${Object.entries(r.kvlbTcp)
      .filter(([, v]) => v > 0)
      .map(([k, v]) => `${k} ${n(v)}`)
      .join(", ")}`,
  );
  streams.push([name, r]);
}

console.log(`frames: ${n(frames)} hostile frames through the core's frame layer, seed ${seed}`);
const fr = await fuzzFrames(frames, seed, console.log);
console.log(`  ${n(fr.frames)} frames in, ${n(fr.sent)} out, in ${fr.seconds.toFixed(1)} s`);
console.log(
  `  the core's counts: ${Object.entries(fr.counters)
    .map(([k, v]) => `${k} ${n(v)}`)
    .join(", ")}`,
);

const failures = [
  ...udp.failures.map((f) => `UDP: ${f}`),
  ...streams.flatMap(([name, r]) => r.failures.map((f) => `${name}: ${f}`)),
  ...fr.failures.map((f) => `frames: ${f}`),
];
for (const f of failures) console.log(`FAILED ${f}`);
console.log(
  failures.length === 0 ? "fuzz: kvlb came through, every check held" : `fuzz: ${failures.length} check(s) failed`,
);
process.exit(failures.length === 0 ? 0 : 1);
