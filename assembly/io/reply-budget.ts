// The reply budget of each source address, kept in the R_CLIENTS region's slots. Every reply to
// a client spends its source address's budget: it earns C_REPLY_RATIO bytes per byte it sends,
// and C_REPLY_PER_SECOND a second (up to that much banked); a reply it cannot pay for is
// dropped, and a request from a source in debt is not served. So a forged source gets back at
// most about ratio times what the attacker sent, plus the per-second allowance. The out ring
// charges every reply here, whatever queued it.
import { regionOffset, cfgU32, clock, statInc } from "../layout/header";
import {
  R_CLIENTS,
  C_CLIENT_SLOTS,
  C_REPLY_RATIO,
  C_REPLY_PER_SECOND,
  CL_SLOTS,
  CLIENT_SLOT_BYTES,
  S_DROP_BUDGET,
} from "../abi/abi";

const SECOND: i64 = 1000000000;

// The budget slot of a source address, refilled to now; a new source starts with a second's
// allowance.
function slot(addr: u32): usize {
  const mask = cfgU32(C_CLIENT_SLOTS) - 1;
  const h = (addr * 0x9e3779b1) >> 7;
  const s = regionOffset(R_CLIENTS) + CL_SLOTS + <usize>(h & mask) * CLIENT_SLOT_BYTES;
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

// A request of `len` bytes from addr: whether its source may be served (not in debt); it earns
// its share of replies.
export function earnReplies(addr: u32, len: usize): bool {
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
