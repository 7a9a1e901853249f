// A datagram larger than its receive slot: the socket addon marks it truncated, and the core
// drops it (never serving half a request) and counts it as too large. Real sockets on loopback.
import test from "ava";
import { createSocket } from "node:dgram";
import { makeCore } from "../support/core.js";
import { openUdpBatch } from "../../host/datapath/socket/udp-batch.js";
import { until } from "../support/until.js";
import * as abi from "../../assembly/abi/abi.js";

const header = (id: number): Buffer => Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0]);

test("a datagram larger than a slot is dropped as too large and answered with nothing; one that fits is served", async (t) => {
  const core = await makeCore({ slotBytes: 2048 });
  const io = openUdpBatch(core, { address: "127.0.0.1", port: 0 }, "127.0.0.1");
  t.teardown(() => io.close());
  const client = createSocket("udp4");
  await new Promise<void>((resolve) => client.bind(0, "127.0.0.1", resolve));
  t.teardown(() => client.close());
  const replies: Buffer[] = [];
  client.on("message", (m) => replies.push(m));
  const port = io.ports().listen;
  const big = Buffer.concat([header(1), Buffer.from(`set big 0 0 3000\r\n${"x".repeat(3000)}\r\n`)]);
  const small = Buffer.concat([header(2), Buffer.from("frobnicate\r\n")]);
  client.send(big, port, "127.0.0.1");
  client.send(small, port, "127.0.0.1");
  let received = 0;
  await until("both datagrams reached kvlb's socket", () => {
    const n = io.receive();
    if (n > 0) {
      core.process(n);
      io.send(core.u32[(abi.HEADER_BASE + abi.H_OUT_COUNT) >>> 2] ?? 0);
      received += n;
    }
    return received >= 2;
  });
  t.is(core.stats()["drop_too_large"], 1n);
  await until("the small one is answered", () => replies.length > 0);
  t.deepEqual(
    replies.map((r) => r.readUInt16BE(0)),
    [2],
    "only the datagram that fit got a reply",
  );
});
