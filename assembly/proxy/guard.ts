// Who kvlb answers (docs/balancer.md, "Amplification and reflection"). A request is served only
// from a source in the allow-list, never from kvlb's own endpoints or a backend's (a forged
// source there would start an endless ping-pong), and only while its source is not in debt with
// its reply budget (io/reply-budget.ts).
import { regionOffset, cfgU32, statInc } from "../layout/header";
import {
  R_CLIENTS,
  C_CLIENT_SLOTS,
  C_LISTEN_PORT,
  C_BACKEND_PORT,
  CL_ALLOW_COUNT,
  CL_OWN_COUNT,
  CL_ALLOW,
  CL_OWN,
  CL_SLOTS,
  CLIENT_SLOT_BYTES,
  MAX_ALLOW,
  MAX_OWN,
  CL_ADMIN,
  CL_ADMIN_COUNT,
  MAX_ADMIN,
  S_DROP_NOT_ALLOWED,
  S_DROP_REFLECTED,
} from "../abi/abi";
import { backendFrom } from "../route/backends";
import { earnReplies } from "../io/reply-budget";

export function clientsBytes(slots: u32): usize {
  return <usize>CL_SLOTS + <usize>slots * <usize>CLIENT_SLOT_BYTES;
}

// Until the host writes its lists: every source allowed (0.0.0.0/0), no own address, no budgets.
export function clientsInit(): void {
  const c = regionOffset(R_CLIENTS);
  memory.fill(c, 0, clientsBytes(cfgU32(C_CLIENT_SLOTS)));
  store<u32>(c + CL_ALLOW_COUNT, 1);
}

function inList(addr: u32, list: usize, count: u32): bool {
  for (let i: u32 = 0; i < count; i++) {
    const e = list + ((<usize>i) << 3);
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
  for (let i: u32 = 0; i < n; i++) if (load<u32>(c + CL_OWN + ((<usize>i) << 2)) == addr) return true;
  return false;
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
  return earnReplies(addr, len);
}
