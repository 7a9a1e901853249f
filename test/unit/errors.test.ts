// Errors are told apart by their code, never their text: host/errors.ts's exit statuses, and the
// codes the socket addon sets on what it throws, read back from a real bind that fails.
import test from "ava";
import { createSocket } from "node:dgram";
import { LibbpfError } from "libbpf-ts";
import { KvlbError, ConfigError, errorCode, exitStatus } from "../../host/errors.js";
import { openUdpBatch } from "../../host/datapath/socket/udp-batch.js";
import { makeCore } from "../support/core.js";

test("an operator's error exits 2 whatever its message says; a bug exits 1", (t) => {
  t.is(exitStatus(new ConfigError("anything at all")), 2);
  t.is(exitStatus(new KvlbError("KVLB_ADDRESS", "reworded: the port is taken")), 2);
  t.is(exitStatus(Object.assign(new Error("from an addon"), { code: "KVLB_ADDRESS" })), 2);
  t.is(exitStatus(new LibbpfError("eth9: no such interface", 19)), 2);
  t.is(exitStatus(Object.assign(new TypeError("x"), { code: "ERR_PARSE_ARGS_UNKNOWN_OPTION" })), 2);
  t.is(exitStatus(new Error("127.0.0.1:11311: address in use")), 1, "the text alone is not a code");
  t.is(exitStatus(Object.assign(new Error("y"), { code: "KVLB_NO_SUCH_CODE" })), 1);
});

test("an error that crossed a thread as a message and a code is known by its code", (t) => {
  const crossed = { message: "127.0.0.1:1: address in use", code: "KVLB_ADDRESS" };
  t.is(errorCode(crossed), "KVLB_ADDRESS");
  t.is(errorCode(Object.assign(new Error(crossed.message), { code: crossed.code })), "KVLB_ADDRESS");
  t.is(errorCode(new Error("no code")), undefined);
});

test("the socket addon codes a bind to a port in use as KVLB_ADDRESS and a bad address as KVLB_CONFIG", async (t) => {
  const held = createSocket("udp4");
  await new Promise<void>((resolve) => held.bind(0, "127.0.0.1", resolve));
  t.teardown(() => held.close());
  const core = await makeCore();
  const inUse = t.throws(() => openUdpBatch(core, { address: "127.0.0.1", port: held.address().port }, "127.0.0.1"));
  t.is(errorCode(inUse), "KVLB_ADDRESS", inUse?.message);
  const bad = t.throws(() => openUdpBatch(core, { address: "not-an-address", port: 0 }, "127.0.0.1"));
  t.is(errorCode(bad), "KVLB_CONFIG", bad?.message);
});
