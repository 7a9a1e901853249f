// A balancer worker as the write-event tests drive it: a frame core, its PeerLink, and a burst
// run the way the host runs one (take the others' events, run, publish).
import { parseFrame } from "./frames.js";
import type { FrameDriver } from "./frame-driver.js";
import { frameBalancer, fromClient, at, backendReplies } from "./frame-balancer.js";
import { PeerLink, type PeerRings } from "../../host/worker/peer-link.js";
import type { Core } from "../../host/core/core.js";
import type { CoreConfig } from "../../host/core/config.js";

export const PORT_A = 40001;
export const PORT_B = 40002;

export interface PeerWorker {
  core: Core;
  io: FrameDriver;
  link: PeerLink;
  port: number;
}

export async function peerWorker(
  rings: PeerRings,
  self: number,
  port: number,
  config: Partial<CoreConfig>,
): Promise<PeerWorker> {
  const w = await frameBalancer(port, config);
  return { ...w, link: new PeerLink(rings, self, w.core), port };
}

/** One burst through a worker as its host runs it: take the others' events, run, publish. */
export function burst(w: PeerWorker, frames: Buffer[], port = 0): ReturnType<FrameDriver["burst"]> {
  w.link.take();
  const out = w.io.burst(frames, port);
  w.link.publish();
  return out;
}

/** A get of `key` by a client: the answer from the cache, or the forwarded request's NAT id. */
export function get(w: PeerWorker, key: string): { cached?: string; forwarded?: number } {
  const out = burst(w, [fromClient(1, `get ${key}\r\n`)]);
  const f = parseFrame(at(out, 0).bytes);
  if (f.dport === 11211) return { forwarded: f.payload.readUInt16BE(0) };
  return { cached: f.payload.subarray(8).toString() };
}

/** Gets `key` through w until w answers it from its cache, the backend holding `value`. */
export function warm(w: PeerWorker, key: string, value: string): string {
  for (let i = 0; i < 50; i++) {
    const out = burst(w, [fromClient(1, `get ${key}\r\n`)]);
    const f = parseFrame(at(out, 0).bytes);
    if (f.dport !== 11211) return f.payload.subarray(8).toString();
    burst(w, backendReplies(out, { [key]: value }, w.port), 1);
  }
  throw new Error(`${key} never became cached`);
}
