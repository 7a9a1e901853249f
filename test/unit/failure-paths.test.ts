// The paths where something goes wrong, on a frame-path core driven burst by burst: a write no
// backend answers (closed at its timeout by tick), a full request table, a reply no request
// waits for, and a pool with no free frame. Each must answer the client with an error (never a
// miss, never nothing) and count what happened.
import test from "ava";
import * as abi from "../../assembly/abi/abi.js";
import { frameBalancer, fromClient, fromBackend } from "../support/frame-balancer.js";
import { parseFrame } from "../support/frames.js";
import type { SentFrame } from "../support/frame-driver.js";

const SECOND = 1_000_000_000n;

/** What the frames sent to the client (10.0.1.2) carried, as text. */
function toClient(frames: readonly SentFrame[]): string[] {
  return frames
    .map((f) => parseFrame(f.bytes))
    .filter((p) => p.dst === "10.0.1.2")
    .map((p) => p.payload.subarray(8).toString("latin1"));
}

/** How many of the frames went to a backend with a request of the client's (not kvlb's own mg fills). */
function toBackends(frames: readonly SentFrame[], verb = ""): number {
  return frames
    .map((f) => parseFrame(f.bytes))
    .filter((p) => p.dport === 11211 && p.payload.subarray(8).toString("latin1").startsWith(verb)).length;
}

test("a write no backend answers is closed at its timeout by tick: SERVER_ERROR, a timeout counted, the entry free", async (t) => {
  const { core, io } = await frameBalancer(40001, { natTimeoutMs: 1000 });
  core.tick(SECOND); // the clock the request is stamped with
  const sent = io.burst([fromClient(1, "set lost 0 0 1\r\nv\r\n")]);
  t.is(toBackends(sent), 1, "the write went to its backend");
  t.deepEqual(toClient(io.tick(SECOND + SECOND / 2n)), [], "nothing before the timeout");
  t.is(core.exports.nat_used(), 1);
  t.deepEqual(toClient(io.tick(3n * SECOND)), ["SERVER_ERROR backend timed out\r\n"]);
  t.is(core.stats()["nat_timeouts"], 1n);
  t.is(core.exports.nat_used(), 0, "its request-table entry is free again");
});

test("a full request table: the next request is answered SERVER_ERROR kvlb is overloaded, and counted", async (t) => {
  const { core, io } = await frameBalancer(40001, { natEntries: 16 });
  const gets = Array.from({ length: 17 }, (_, i) => fromClient(100 + i, `get full-${i}\r\n`, 40000 + i));
  const sent = io.burst(gets);
  const forwarded = toBackends(sent, "get ");
  const refused = toClient(sent);
  t.true(forwarded > 0 && forwarded <= 16, `${forwarded} gets took entries`);
  t.is(forwarded + refused.length, 17, "every get was forwarded or answered");
  t.true(refused.length > 0);
  t.true(
    refused.every((r) => r === "SERVER_ERROR kvlb is overloaded\r\n"),
    refused.join(""),
  );
  t.is(core.stats()["nat_overflow"], BigInt(refused.length));
});

test("a backend reply that no request waits for reaches no client and is counted", async (t) => {
  const { core, io } = await frameBalancer();
  const before = core.stats();
  const out = io.burst([fromBackend(0, 40001, 0x4242, "VALUE k 0 1\r\nx\r\nEND\r\n")], 1);
  t.deepEqual(toClient(out), []);
  const after = core.stats();
  // an id of no request in flight: stray, or late when its entry was used before
  const counted =
    (after["drop_stray"] ?? 0n) -
    (before["drop_stray"] ?? 0n) +
    (after["late_replies"] ?? 0n) -
    (before["late_replies"] ?? 0n);
  t.is(counted, 1n);
});

test("with no free frame to build a reply in, the reply leaves through the kernel's socket and the pool is counted empty", async (t) => {
  const { core, io } = await frameBalancer();
  // one free frame left: the request arrives in it, and the core has none for its answer
  new DataView(core.memory.buffer).setUint32(core.region(abi.R_FPOOL).offset, 1, true);
  const out = io.burst([fromClient(7, "frobnicate\r\n")]);
  t.deepEqual(toClient(out), [], "no frame carried the answer");
  t.is(io.socketCount, 1, "the answer was left for the kernel's socket");
  t.true((core.stats()["frame_pool_empty"] ?? 0n) >= 1n);
});
