// Hostile Ethernet frames through the core's frame layer in Node, with the AF_XDP driver's part
// played by FrameDriver: client requests and forged backend replies, mutated down to their
// Ethernet, IPv4 and UDP headers, ARP, IPv6 and junk, in bursts, with the clock moving so that
// requests time out. No frame may trap the core, every frame must go back to the pool, the
// state must check, and the core must still forward a plain get.
import { frame } from "../support/frames.js";
import { frameBalancer, fromClient, backendAt, FRAMES } from "../support/frame-balancer.js";
import { Rng, hostileDatagram, hostileReply, mutateFrame, MAX_UDP_PAYLOAD } from "./mutate.js";

export interface FrameFuzzReport {
  frames: number;
  sent: number;
  counters: Record<string, number>;
  failures: string[];
  seconds: number;
}

const BURST = 32;
const FRAME_ROOM = 2048 - 256; // a 2 KB frame less the driver's headroom

export async function fuzzFrames(
  count: number,
  seed: number,
  progress?: (line: string) => void,
): Promise<FrameFuzzReport> {
  const started = Date.now();
  const { core, io } = await frameBalancer();
  const rng = new Rng(seed);
  const failures: string[] = [];
  let sent = 0;
  let now = 1_000_000_000n;
  let lastReport = Date.now();
  for (let done = 0; done < count && failures.length === 0;) {
    const burst: Buffer[] = [];
    for (let i = 0; i < BURST && done + i < count; i++) {
      const roll = rng.below(10);
      let f: Buffer;
      if (roll < 5) {
        const d = hostileDatagram(rng, done + i).payload.subarray(0, Math.min(MAX_UDP_PAYLOAD, 1400));
        f = frame({ src: `10.0.1.${2 + rng.below(3)}`, dst: "10.0.1.1", sport: 40000 + rng.below(4), payload: d });
      } else if (roll < 8) {
        const b = backendAt(rng.below(2));
        const forged = rng.chance(0.2);
        f = frame({
          src: forged ? "10.0.1.2" : b.address,
          dst: rng.chance(0.9) ? "10.0.2.254" : "10.0.1.1",
          sport: forged ? 40000 : 11211,
          dport: rng.chance(0.9) ? 40001 : 11211,
          payload: hostileReply(rng, rng.below(65536)),
        });
      } else if (roll < 9) {
        f = frame({
          v6: rng.chance(0.5),
          vlan: rng.chance(0.3) ? rng.below(4096) : undefined,
          proto: rng.pick([17, 6, 1]),
        });
      } else {
        f = Buffer.from(Array.from({ length: rng.below(120) }, () => rng.below(256)));
      }
      burst.push(mutateFrame(rng, f).subarray(0, FRAME_ROOM));
    }
    try {
      sent += io.burst(burst, rng.below(2)).length;
      if (rng.chance(0.1)) {
        now += BigInt(rng.below(400)) * 1_000_000n;
        sent += io.tick(now).length;
      }
    } catch (e) {
      failures.push(`burst at frame ${done}: ${(e as Error).message}`);
      break;
    }
    done += burst.length;
    if (done % 4096 < BURST && core.checkState() !== 0)
      failures.push(`check_state ${core.checkState()} after ${done} frames`);
    if (progress && Date.now() - lastReport >= 5000) {
      lastReport = Date.now();
      progress(`  ${done.toLocaleString("en-US")} of ${count.toLocaleString("en-US")} frames`);
    }
  }
  // every request still open times out, and the frames it held come back
  sent += io.tick(now + 60_000_000_000n).length;
  if (io.poolCount !== FRAMES) failures.push(`${FRAMES - io.poolCount} frames never came back to the pool`);
  if (core.checkState() !== 0) failures.push(`check_state ${core.checkState()} at the end`);
  const after = io.burst([fromClient(4242, "get after-fuzz\r\n")]);
  const forwarded = after.some((f) => f.port === 1 && f.bytes.includes(Buffer.from("get after-fuzz")));
  if (!forwarded) failures.push("a plain get is no longer forwarded after the fuzz");
  const stats = core.stats();
  const counters: Record<string, number> = {};
  for (const name of [
    "frames_rx",
    "frame_malformed",
    "frame_bad_checksum",
    "frame_not_ours",
    "frame_ipv6",
    "client_datagrams",
    "backend_datagrams",
    "drop_frame",
    "drop_stray",
    "late_replies",
    "client_errors",
    "unknown_commands",
    "refused_commands",
    "server_errors",
    "forwarded",
  ]) {
    counters[name] = Number(stats[name] ?? 0n);
  }
  return { frames: count, sent, counters, failures, seconds: (Date.now() - started) / 1000 };
}
