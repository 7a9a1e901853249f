// Who kvlb answers, and how much (docs/balancer.md, "Amplification and reflection"). A request
// is served only from a source in the allow-list, and never from kvlb's own endpoints or a
// backend's (a forged source there would start an endless ping-pong). Every reply to a client
// spends its source address's reply budget: it earns C_REPLY_RATIO bytes per byte it sends, and
// C_REPLY_PER_SECOND a second (up to that much banked); a reply it cannot pay for is dropped, and
// a request from a source in debt is not served. So a forged source gets back at most about
// ratio times what the attacker sent, plus the per-second allowance.
import { regionOffset, cfgU32, clock, statInc } from "../layout/header";
import { R_CLIENTS, C_CLIENT_SLOTS, C_REPLY_RATIO, C_REPLY_PER_SECOND, C_LISTEN_PORT, C_BACKEND_PORT,
  CL_ALLOW_COUNT, CL_OWN_COUNT, CL_ALLOW, CL_OWN, CL_SLOTS, CLIENT_SLOT_BYTES, MAX_ALLOW, MAX_OWN, CL_ADMIN,
  CL_ADMIN_COUNT, MAX_ADMIN,
  S_DROP_NOT_ALLOWED, S_DROP_REFLECTED, S_DROP_BUDGET } from "../shared/abi";
import { backendFrom } from "../route/backends";

const SECOND: i64 = 1000000000;

export function clientsBytes(slots: u32): usize {
  return <usize>CL_SLOTS + (<usize>slots) * <usize>CLIENT_SLOT_BYTES;
}

// Until the host writes its lists: every source allowed (0.0.0.0/0), no own address, no budgets.
export function clientsInit(): void {
  const c = regionOffset(R_CLIENTS);
  memory.fill(c, 0, clientsBytes(cfgU32(C_CLIENT_SLOTS)));
  store<u32>(c + CL_ALLOW_COUNT, 1);
}

function inList(addr: u32, list: usize, count: u32): bool {
  for (let i: u32 = 0; i < count; i++) {
    const e = list + (<usize>i << 3);
    if ((addr & load<u32>(e + 4)) == load<u32>(e)) return true;
  }
  return false;
}

function allowed(addr: u32): bool {
  const c = regionOffset(R_CLIENTS);
  return inList(addr, c + CL_ALLOW, min(load<u32>(c + CL_ALLOW_COUNT), <u32>MAX_ALLOW));
}

// Whether a client may send flush_all through kvlb to every backend (admin.clients; none by default).
export function adminClient(addr: u32): bool {
  const c = regionOffset(R_CLIENTS);
  return inList(addr, c + CL_ADMIN, min(load<u32>(c + CL_ADMIN_COUNT), <u32>MAX_ADMIN));
}

function ownEndpoint(addr: u32, port: u32): bool {
  if (port != cfgU32(C_LISTEN_PORT) && port != cfgU32(C_BACKEND_PORT)) return false;
  const c = regionOffset(R_CLIENTS);
  const n = min(load<u32>(c + CL_OWN_COUNT), <u32>MAX_OWN);
  for (let i: u32 = 0; i < n; i++) if (load<u32>(c + CL_OWN + (<usize>i << 2)) == addr) return true;
  return false;
}

// The budget slot of a source address, refilled to now; a new source starts with a second's
// allowance.
function slot(addr: u32): usize {
  const mask = cfgU32(C_CLIENT_SLOTS) - 1;
  const h = (addr * 0x9e3779b1) >> 7;
  const s = regionOffset(R_CLIENTS) + CL_SLOTS + (<usize>(h & mask)) * CLIENT_SLOT_BYTES;
  const perSecond = <i64>cfgU32(C_REPLY_PER_SECOND);
  const now = clock();
  if (load<u32>(s) != addr || load<u64>(s + 16) == 0) {
    store<u32>(s, addr);
    store<i64>(s + 8, perSecond);
    store<u64>(s + 16, now);
    return s;
  }
  const last = load<u64>(s + 16);
  if (now > last) {
    const earned = (<i64>(now - last) * perSecond) / SECOND;
    if (earned > 0) {
      const tokens = load<i64>(s + 8);
      // the per-second allowance banks up to one second's worth; what requests earned stays
      store<i64>(s + 8, tokens < perSecond ? min(tokens + earned, perSecond) : tokens);
      store<u64>(s + 16, now);
    }
  }
  return s;
}

// A client's datagram of `len` bytes arrived: whether it may be served. Counts the refusals.
export function admitClient(addr: u32, port: u32, len: usize): bool {
  if (!allowed(addr)) {
    statInc(S_DROP_NOT_ALLOWED);
    return false;
  }
  if (ownEndpoint(addr, port) || backendFrom(addr, port) != 0xffffffff) {
    statInc(S_DROP_REFLECTED);
    return false;
  }
  const ratio = <i64>cfgU32(C_REPLY_RATIO);
  if (ratio == 0) return true;
  const s = slot(addr);
  const tokens = load<i64>(s + 8);
  if (tokens < 0) {
    statInc(S_DROP_BUDGET);
    return false;
  }
  // what a request earns is capped, so no source banks more than a large datagram's worth
  const cap = ratio * 65536 + <i64>cfgU32(C_REPLY_PER_SECOND);
  store<i64>(s + 8, min(tokens + ratio * <i64>len, cap));
  return true;
}

// A reply of `len` bytes to a client: whether its budget pays for it (then spent).
export function chargeReply(addr: u32, len: usize): bool {
  if (cfgU32(C_REPLY_RATIO) == 0) return true;
  const s = slot(addr);
  const tokens = load<i64>(s + 8);
  if (tokens < <i64>len) {
    statInc(S_DROP_BUDGET);
    store<i64>(s + 8, tokens - <i64>len); // in debt: its next requests wait
    return false;
  }
  store<i64>(s + 8, tokens - <i64>len);
  return true;
}
