// Clears the proxy's tables at init(): no backends, no requests in flight, no writes open.
import { setBackendCount, setRingPoints } from "../route/backends";
import { natClear } from "./nat";
import { barrierClear } from "../cache/barrier";
import { replicaClear } from "../cache/replicas";
import { outReset } from "../io/out-ring";
import { clientsInit } from "./guard";
import { parkedClear } from "./parked-reads";
import { streamClear } from "./stream-refs";
import { HEADER_BASE, H_PEER_OUT, H_PURGED } from "../abi/abi";

export function initProxy(): void {
  setBackendCount(0);
  setRingPoints(0);
  natClear();
  barrierClear();
  replicaClear();
  parkedClear();
  streamClear();
  outReset();
  store<u32>(HEADER_BASE + H_PEER_OUT, 0);
  store<u64>(HEADER_BASE + H_PURGED, 0);
  clientsInit();
}
