// The core's frame layer on its own, with the AF_XDP driver's part played by FrameDriver:
// received frames are validated and steered, forwarded frames get fresh headers and correct
// checksums, clients' next hops are learned, and every frame goes back to the pool.
import test from "ava";
import type { FrameDriver } from "../support/frame-driver.js";
import { frame, parseFrame } from "../support/frames.js";
import { routeKey } from "../../host/core/backends.js";
import {
  frameBalancer,
  FRAMES,
  backendMacs,
  CLIENT_MAC,
  at,
  backendAt,
  request,
  serveAsBackends,
  isFillAsk,
  withoutFillAsks,
} from "../support/frame-balancer.js";

const balancer = (): ReturnType<typeof frameBalancer> => frameBalancer();

test("a get goes to its backend and the reply comes back to the client, with fresh headers", async (t) => {
  const { core, io } = await balancer();
  const owner = routeKey(core, "k");
  const sent = io.burst([frame({ src: "10.0.1.2", dst: "10.0.1.1", sport: 40000, payload: request(7, "get k\r\n") })]);
  t.is(sent.length, 2, "the client's get, then kvlb's own ask for the value and its TTL");
  t.is(parseFrame(at(sent, 1).bytes).payload.subarray(8).toString(), "mg k v f t k\r\n");
  const out = withoutFillAsks(sent);
  t.is(out.length, 1);
  t.is(at(out, 0).port, 1, "backends are behind port 1");
  const fwd = parseFrame(at(out, 0).bytes);
  t.is(fwd.dstMac, backendMacs[owner] ?? "");
  t.is(fwd.srcMac, "02:00:00:00:01:02");
  t.is(fwd.src, "10.0.2.254");
  t.is(fwd.dst, backendAt(owner).address);
  t.is(fwd.sport, 40001);
  t.is(fwd.dport, 11211);
  t.true(fwd.ipChecksumOk, "IPv4 header checksum");
  t.true(fwd.udpChecksumOk, "UDP checksum");
  t.is(fwd.payload.subarray(8).toString(), "get k\r\n");
  const natId = fwd.payload.readUInt16BE(0);

  const reply = io.burst(
    [
      frame({
        src: backendAt(owner).address,
        dst: "10.0.2.254",
        sport: 11211,
        dport: 40001,
        payload: request(natId, "VALUE k 0 1\r\nv\r\nEND\r\n"),
      }),
    ],
    1,
  );
  t.is(reply.length, 1);
  t.is(at(reply, 0).port, 0);
  const back = parseFrame(at(reply, 0).bytes);
  t.is(back.dstMac, CLIENT_MAC, "the client's MAC was learned from its request");
  t.is(back.srcMac, "02:00:00:00:01:01");
  t.is(back.src, "10.0.1.1");
  t.is(back.dst, "10.0.1.2");
  t.is(back.sport, 11211);
  t.is(back.dport, 40000);
  t.true(back.ipChecksumOk && back.udpChecksumOk);
  t.is(back.payload.readUInt16BE(0), 7, "the client's request id");
  t.is(back.payload.subarray(8).toString(), "VALUE k 0 1\r\nv\r\nEND\r\n");
  t.is(io.poolCount, FRAMES, "every frame is back in the pool");
  t.is(core.stats()["frames_rx"], 2n);
  t.is(core.stats()["frames_tx"], 3n, "the get, kvlb's ask and the reply");
});

test("local answers are built in a frame of their own; a VLAN client gets a tagged reply", async (t) => {
  const { io } = await balancer();
  const out = io.burst([frame({ src: "10.0.1.3", sport: 40002, vlan: 5, payload: request(9, "bogus\r\n") })]);
  t.is(out.length, 1);
  const f = parseFrame(at(out, 0).bytes);
  t.is(f.vlan, 5);
  t.is(f.dst, "10.0.1.3");
  t.is(f.dport, 40002);
  t.true(f.ipChecksumOk && f.udpChecksumOk);
  t.is(f.payload.subarray(8).toString(), "ERROR\r\n");
  t.is(io.poolCount, FRAMES);
});

test("bad frames are counted and dropped, and their frames go back to the pool", async (t) => {
  const { core, io } = await balancer();
  const good = frame({ payload: request(1, "get k\r\n") });
  const badChecksum = Buffer.from(good);
  badChecksum[14 + 10] = (badChecksum[14 + 10] ?? 0) ^ 0xff;
  const out = io.burst([
    good.subarray(0, 40),
    badChecksum,
    frame({ v6: true }),
    frame({ dport: 11311 }),
    frame({ dst: "10.0.1.9" }),
    frame({ fragment: "more" }),
  ]);
  t.is(out.length, 0);
  const s = core.stats();
  t.is(s["frame_malformed"], 2n, "the truncated frame and the fragment");
  t.is(s["frame_bad_checksum"], 1n);
  t.is(s["frame_ipv6"], 1n);
  t.is(s["frame_not_ours"], 2n, "another port, another address");
  t.is(s["client_datagrams"], 0n);
  t.is(io.poolCount, FRAMES);
});

test("a backend with no known next hop is reached through the kernel's socket", async (t) => {
  const { core, io } = await balancer();
  core.exports.neigh_clear();
  const out = io.burst([frame({ payload: request(3, "get k\r\n") })]);
  t.is(out.length, 0);
  t.is(io.socketCount, 2, "the get and kvlb's ask, left in the out ring for the socket");
  t.is(core.stats()["frame_no_neigh"], 2n);
  t.is(io.poolCount, FRAMES, "the frame is free once the socket has sent it");
});

test("a cache hit of a near-MTU value leaves as frames built straight from the cache", async (t) => {
  const { core, io } = await balancer();
  const big = "x".repeat(1370); // the largest VALUE block that fits one datagram
  const owner = routeKey(core, "big");
  const backend = { src: backendAt(owner).address, sport: 11211, dport: 40001 };
  const ask = (): ReturnType<FrameDriver["burst"]> => io.burst([frame({ payload: request(11, "get big\r\n") })]);
  let hit = ask();
  for (let i = 0; i < 50 && parseFrame(at(hit, 0).bytes).dport === 11211; i++) {
    const id = parseFrame(at(hit, 0).bytes).payload.readUInt16BE(0);
    io.burst(
      [
        frame({ ...backend, payload: request(id, `VALUE big 0 ${big.length}\r\n${big}\r\n`) }),
        frame({ ...backend, payload: request(id, "END\r\n") }),
      ],
      1,
    );
    serveAsBackends(io, hit.filter(isFillAsk), { big });
    hit = ask();
  }
  t.is(hit.length, 2, "the value with its END is one message, which no longer fits one datagram");
  const parts = hit.map((f) => parseFrame(f.bytes));
  t.true(parts.every((p) => p.udpChecksumOk && p.ipChecksumOk && p.dport === 40000));
  t.deepEqual(
    parts.map((p) => [p.payload.readUInt16BE(2), p.payload.readUInt16BE(4)]),
    [
      [0, 2],
      [1, 2],
    ],
    "sequence number and datagram count",
  );
  const payload = Buffer.concat(parts.map((p) => p.payload.subarray(8)));
  t.is(payload.toString(), `VALUE big 0 ${big.length}\r\n${big}\r\nEND\r\n`);
  t.true((core.stats()["cache_replies"] ?? 0n) > 0n);
  t.is(io.poolCount, FRAMES);
});

test("a frame kvlb does not serve, or one that claims a backend's address, changes no next hop", async (t) => {
  const { core, io } = await balancer();
  const evil = Buffer.from([0x02, 0xee, 0xee, 0xee, 0xee, 0xee]);
  const withMac = (f: Buffer, mac: Buffer): Buffer => {
    const c = Buffer.from(f);
    mac.copy(c, 6);
    return c;
  };
  // the client's own request teaches its MAC
  io.burst([frame({ src: "10.0.1.2", dst: "10.0.1.1", sport: 40000, payload: request(1, "version\r\n") })]);
  // a forged frame from its address with a frame header kvlb drops (two datagrams) teaches nothing
  const bad = Buffer.from(request(2, "frobnicate\r\n"));
  bad.writeUInt16BE(2, 4);
  io.burst([withMac(frame({ src: "10.0.1.2", dst: "10.0.1.1", sport: 40000, payload: bad }), evil)]);
  const answer = io.burst([
    frame({ src: "10.0.1.2", dst: "10.0.1.1", sport: 40000, payload: request(3, "bogus\r\n") }),
  ]);
  t.is(parseFrame(at(answer, 0).bytes).dstMac, CLIENT_MAC, "ERROR goes back to the client's own MAC");
  // a forged frame claiming a backend's address (another port) is served as a client, but not learned
  const owner = routeKey(core, "k");
  io.burst([
    withMac(
      frame({ src: backendAt(owner).address, dst: "10.0.1.1", sport: 5555, payload: request(4, "bogus\r\n") }),
      evil,
    ),
  ]);
  const fwd = withoutFillAsks(io.burst([frame({ payload: request(5, "get k\r\n") })]));
  t.is(parseFrame(at(fwd, 0).bytes).dstMac, backendMacs[owner] ?? "", "the backend's next hop is unchanged");
});

test("with the cache off, a get asks the backend for nothing more than the client asked", async (t) => {
  const { io } = await frameBalancer(40001, { l1Entries: 0, l2Entries: 0 });
  for (let i = 0; i < 20; i++) {
    const out = io.burst([frame({ payload: request(i, "get k\r\n") })]);
    t.false(out.some(isFillAsk), `get ${i}: no mg of kvlb's own`);
  }
});

test("a write that timed out is answered with an error, and an older value read after it does not fill the cache", async (t) => {
  const { core, io } = await balancer();
  const warm = (): string | undefined => {
    for (let i = 0; i < 50; i++) {
      const out = io.burst([frame({ payload: request(1, "get late\r\n") })]);
      const f = parseFrame(at(out, 0).bytes);
      if (f.dport !== 11211) return f.payload.subarray(8).toString();
      serveAsBackends(io, out, { late: "old" });
    }
    return undefined;
  };
  t.is(warm(), "VALUE late 0 3\r\nold\r\nEND\r\n");
  // the set goes out, and its backend says nothing in time
  const set = io.burst([frame({ payload: request(2, "set late 0 0 3\r\nnew\r\n") })]);
  t.is(parseFrame(at(set, 0).bytes).dport, 11211);
  const expired = io.tick(BigInt(Date.now()) * 1_000_000n + 60_000_000_000n);
  t.is(parseFrame(at(expired, 0).bytes).payload.subarray(8).toString(), "SERVER_ERROR backend timed out\r\n");
  // a read forwarded now may be answered with the old value, if the late set lands after it:
  // that answer must not fill, or kvlb would serve "old" for ever after "new" is stored
  const read = io.burst([frame({ payload: request(3, "get late\r\n") })]);
  serveAsBackends(io, read, { late: "old" });
  t.true((core.stats()["stale_fills"] ?? 0n) >= 1n, "refused as stale");
  const again = io.burst([frame({ payload: request(4, "get late\r\n") })]);
  t.is(parseFrame(at(again, 0).bytes).dport, 11211, "not served from the cache");
});
