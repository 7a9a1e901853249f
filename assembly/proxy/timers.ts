// Expiry of NAT entries whose backend never answered: the backend's timeout is counted, an
// open write is closed as failed (its key held uncached until a late apply can no longer land
// unseen), and the client is told with a server error, never left waiting or shown a miss.
import { cfgU32, clock, statInc, requestTimeout } from "../layout/header";
import { C_NAT_ENTRIES, S_NAT_TIMEOUTS } from "../abi/abi";
import {
  natEntry,
  natFree,
  NS_CHILD,
  N_STATE,
  N_KIND,
  N_BACKEND,
  N_TIME,
  N_HASH,
  N_STAMP,
  N_FLAGS,
  N_CLIENT_ADDR,
  N_CLIENT_PORT,
  N_CLIENT_ID,
  NK_GET,
  NK_GETS,
  NK_WRITE,
  NK_META_WRITE,
  NK_FILL,
  NK_FLUSH,
  NK_COPY_READ,
  NK_COPY_WRITE,
  NK_PROBE,
  NK_MIG_READ,
  NK_MIG_COPY,
  NK_MIG_DELETE,
  NF_NOREPLY,
} from "./nat";
import { migrateCopyAnswered, migrateDeleteAnswered } from "./migrate";
import { copyReadLost, copyWriteAnswered, replicaWriteDone } from "./replica-fill";
import { childDone, childFailed, groupFailed, groupErrored, sendAfter } from "./context";
import { writeTimedOut } from "../cache/proxy-writes";
import { barrierFillDone } from "../cache/barrier";
import { backendDone } from "../route/backends";
import { FAIL_TIMEOUT } from "./failures";
import { outRoom } from "../io/out-ring";

// Out descriptors one expiry may queue: its error, a group's tail, a connection's done marker.
const EXPIRE_ROOM: u32 = 4;

export function expireRequests(): u32 {
  const now = clock();
  const timeout = requestTimeout();
  const n = cfgU32(C_NAT_ENTRIES);
  let expired: u32 = 0;
  for (let id: u32 = 0; id < n; id++) {
    // the rest wait for the next tick rather than lose their answers to a full ring
    if (!outRoom(EXPIRE_ROOM)) break;
    const e = natEntry(id);
    if (load<u8>(e + N_STATE) != NS_CHILD) continue;
    if (now - load<u64>(e + N_TIME) < timeout || now < load<u64>(e + N_TIME)) continue;
    const kind = load<u8>(e + N_KIND);
    if (kind == NK_PROBE) {
      // the host's health checker counts its own unanswered probes
      natFree(id);
      continue;
    }
    if (kind == NK_MIG_READ || kind == NK_MIG_COPY || kind == NK_MIG_DELETE) {
      if (kind == NK_MIG_COPY) migrateCopyAnswered(e, 0, 0, true);
      else if (kind == NK_MIG_DELETE) migrateDeleteAnswered(e, 0, 0, true);
      backendDone(<u32>load<u8>(e + N_BACKEND), true);
      natFree(id);
      continue;
    }
    if (kind == NK_FILL || kind == NK_COPY_READ || kind == NK_COPY_WRITE) {
      // kvlb's own asks: no client waits for them
      if (kind == NK_FILL) barrierFillDone(load<u64>(e + N_HASH));
      else if (kind == NK_COPY_READ) copyReadLost(e);
      else copyWriteAnswered(e, 0, 0, true);
      backendDone(<u32>load<u8>(e + N_BACKEND), true);
      natFree(id);
      continue;
    }
    if (kind == NK_WRITE || kind == NK_META_WRITE) {
      writeTimedOut(load<u64>(e + N_HASH), load<u64>(e + N_STAMP));
      replicaWriteDone(load<u64>(e + N_HASH), load<u64>(e + N_STAMP), false);
    }
    // a get's reply ends at its first error: another would be read as the next request's reply
    const errored = (kind == NK_GET || kind == NK_GETS) && groupErrored(e);
    if (kind == NK_FLUSH) groupFailed(e);
    else if ((load<u8>(e + N_FLAGS) & NF_NOREPLY) == 0 && !errored) childFailed(e, FAIL_TIMEOUT);
    const done = childDone(e, true);
    sendAfter(done, load<u32>(e + N_CLIENT_ADDR), <u32>load<u16>(e + N_CLIENT_PORT), <u32>load<u16>(e + N_CLIENT_ID));
    backendDone(<u32>load<u8>(e + N_BACKEND), true);
    statInc(S_NAT_TIMEOUTS);
    natFree(id);
    expired++;
  }
  return expired;
}
