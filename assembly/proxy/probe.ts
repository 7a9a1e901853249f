// The health checker's `stats`, sent by the core where no kernel reaches the backends (DPDK ports
// no kernel serves): the host asks for one with probe_backend(b), the next tick sends it (so it
// leaves with that tick's output), and the host reads the answer from b's entry (B_PROBES and
// the three fields after it), which are all the health checks need: an answer at all, and
// whether the server restarted (pid, uptime) or was flushed (cmd_flush).
// A probe is not a client's request: it is not counted in the backend's load, and one that is
// never answered is not a request timed out; the host counts that itself.
import { B_PROBES, B_PROBE_PID, B_PROBE_UPTIME, B_PROBE_FLUSHES, B_PROBE_WANTED } from "../abi/abi";
import { backend, backendCount } from "../route/backends";
import { natEntry, natFree, NAT_NONE, N_SEEN, N_HASH, N_STAMP, NK_PROBE } from "./nat";
import { ownChild, buildBegin, queueBuilt } from "./forward";
import { writeAscii } from "../io/out-ring";
import { frameTotal, FRAME_HEADER } from "../protocol/udp-frame";
import { findNewline, contentEnd, tokenEnd, startsWith, parseDecimal, NOT_FOUND } from "../protocol/text";

export function wantProbe(b: u32): void {
  store<u32>(backend(b) + B_PROBE_WANTED, 1);
}

// At a tick: the probes the host asked for. One that finds no room (the request table or the out
// ring full) waits for the next tick.
export function sendWantedProbes(): void {
  const n = backendCount();
  for (let b: u32 = 0; b < n; b++) {
    const wanted = backend(b) + B_PROBE_WANTED;
    if (load<u32>(wanted) != 0 && sendProbe(b)) store<u32>(wanted, 0);
  }
}

function sendProbe(b: u32): bool {
  const payload = buildBegin(7);
  if (payload == 0) return false;
  const index = ownChild(NK_PROBE, b, 0, 0, 0);
  if (index == NAT_NONE) return false;
  writeAscii(payload, "stats\r\n");
  // queued, not sent: a probe is not counted in the backend's load
  if (queueBuilt(index, b, payload, 7)) return true;
  natFree(index);
  return false;
}

// One datagram of a probe's answer. The entry keeps what its datagrams said (pid and uptime in
// N_HASH, cmd_flush in N_STAMP) until the last of them, then the backend's entry takes it all
// at once, so the host never reads half an answer.
export function probeAnswered(index: u32, b: u32, slot: usize, len: usize): void {
  const e = natEntry(index);
  const end = slot + len;
  for (let q = slot + FRAME_HEADER; q < end;) {
    const newline = findNewline(q, end);
    if (newline == NOT_FOUND) break;
    const lineEnd = contentEnd(q, newline);
    if (startsWith(q, lineEnd, "STAT pid ")) {
      const v = statValue(q + 9, lineEnd);
      store<u64>(e + N_HASH, (load<u64>(e + N_HASH) & 0xffffffff00000000) | v);
    } else if (startsWith(q, lineEnd, "STAT uptime ")) {
      const v = statValue(q + 12, lineEnd);
      store<u64>(e + N_HASH, (load<u64>(e + N_HASH) & 0xffffffff) | (v << 32));
    } else if (startsWith(q, lineEnd, "STAT cmd_flush ")) {
      store<u64>(e + N_STAMP, statValue(q + 15, lineEnd));
    }
    q = newline + 1;
  }
  const seen = load<u16>(e + N_SEEN) + 1;
  store<u16>(e + N_SEEN, seen);
  if (<u32>seen < frameTotal(slot)) return;
  const pidUptime = load<u64>(e + N_HASH);
  if (<u32>pidUptime != 0) {
    const entry = backend(b);
    store<u32>(entry + B_PROBE_PID, <u32>pidUptime);
    store<u32>(entry + B_PROBE_UPTIME, <u32>(pidUptime >> 32));
    store<u32>(entry + B_PROBE_FLUSHES, <u32>load<u64>(e + N_STAMP));
    store<u32>(entry + B_PROBES, load<u32>(entry + B_PROBES) + 1);
  }
  natFree(index);
}

// A stat's decimal value, at most 32 bits; 0 when it does not read as one.
function statValue(p: usize, lineEnd: usize): u64 {
  const v = parseDecimal(p, tokenEnd(p, lineEnd));
  return v < 0 || v > <i64>u32.MAX_VALUE ? 0 : <u64>v;
}
