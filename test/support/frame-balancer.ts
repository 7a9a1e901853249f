// A core set up as a frame-path balancer for unit tests: clients behind port 0 (10.0.1.1), two
// backends behind port 1 with known next hops, and FrameDriver playing the driver's part.
import { makeCoreWith, type detectorModules } from "./core.js";
import { FrameDriver, type SentFrame } from "./frame-driver.js";
import { frame, parseFrame } from "./frames.js";
import { setBackends } from "../../host/core/backends.js";
import { setFrameAddresses, setFramePort, setNeighbours, macBytes } from "../../host/core/frame-tables.js";
import type { InspectableCore as Core } from "../../host/core/inspectable-core.js";
import type { CoreConfig } from "../../host/core/config.js";

export const FRAMES = 256;
export const backends = [
  { host: "10.0.2.1", address: "10.0.2.1", port: 11211, weight: 1 },
  { host: "10.0.2.2", address: "10.0.2.2", port: 11211, weight: 1 },
];
export const backendMacs = ["02:00:00:00:02:01", "02:00:00:00:02:02"];
export const CLIENT_MAC = "02:00:00:00:00:0a"; // the frame builder's source MAC

export async function frameBalancer(
  backendPort = 40001,
  config: Partial<CoreConfig> = {},
  module: keyof typeof detectorModules = "lossy",
): Promise<{ core: Core; io: FrameDriver }> {
  // replication off unless a test asks for it: the frame tests count each datagram kvlb sends
  const core = await makeCoreWith(module, { frames: FRAMES, frameBytes: 2048, replicaKeys: 0, ...config }, 4096);
  setBackends(core, backends);
  setFrameAddresses(core, { address: "10.0.1.1", port: 11211 }, backendPort);
  setFramePort(core, 0, { mac: macBytes("02:00:00:00:01:01"), address: "10.0.1.1", ifindex: 2 });
  setFramePort(core, 1, { mac: macBytes("02:00:00:00:01:02"), address: "10.0.2.254", ifindex: 3 });
  setNeighbours(
    core,
    backends.map((b, i) => ({ address: b.address, mac: macBytes(backendMacs[i] ?? ""), port: 1 })),
  );
  return { core, io: new FrameDriver(core) };
}

export function at(frames: readonly SentFrame[], i: number): SentFrame {
  const f = frames[i];
  if (!f) throw new Error(`no frame ${i} of ${frames.length}`);
  return f;
}

export function backendAt(i: number): (typeof backends)[number] {
  const b = backends[i];
  if (!b) throw new Error(`no backend ${i}`);
  return b;
}

/** A memcached UDP datagram: the 8-byte frame header with request id `id`, then `body`. */
export const request = (id: number, body: string): Buffer =>
  Buffer.concat([Buffer.from([id >> 8, id & 0xff, 0, 0, 0, 1, 0, 0]), Buffer.from(body, "latin1")]);

/** A client's request frame to the balancer, from 10.0.1.2:sport. */
export const fromClient = (id: number, body: string, sport = 40000): Buffer =>
  frame({ src: "10.0.1.2", dst: "10.0.1.1", sport, payload: request(id, body) });

/** A backend's reply frame to the balancer's backend port. */
export const fromBackend = (backend: number, dport: number, id: number, body: string): Buffer =>
  frame({ src: backendAt(backend).address, dst: "10.0.2.254", sport: 11211, dport, payload: request(id, body) });

/**
 * Plays the backends' part for the frames a burst sent them: a get is answered with the values
 * held (then END), and kvlb's own "mg <key> v f t k" with "VA" and no expiry (t-1), as memcached
 * answers them. Returns what the replies' burst sent on to clients.
 */
export function serveAsBackends(
  io: FrameDriver,
  sent: readonly SentFrame[],
  values: Readonly<Record<string, string>>,
  backendPort = 40001,
): SentFrame[] {
  const replies = backendReplies(sent, values, backendPort);
  return replies.length === 0 ? [] : io.burst(replies, 1);
}

/** The backends' reply frames to what a burst sent them, as serveAsBackends answers them. */
export function backendReplies(
  sent: readonly SentFrame[],
  values: Readonly<Record<string, string>>,
  backendPort = 40001,
): Buffer[] {
  const replies: Buffer[] = [];
  for (const f of sent) {
    const p = parseFrame(f.bytes);
    const owner = backends.findIndex((b) => b.address === p.dst);
    if (owner < 0 || p.dport !== 11211) continue;
    const id = p.payload.readUInt16BE(0);
    const line = p.payload.subarray(8).toString("latin1").split("\r\n")[0] ?? "";
    const [verb, ...keys] = line.split(" ");
    let body = "";
    if (verb === "mg") {
      const k = keys[0] ?? "";
      const v = values[k];
      body = v === undefined ? "EN\r\n" : `VA ${v.length} f0 t-1 k${k}\r\n${v}\r\n`;
    } else if (verb === "get") {
      for (const k of keys) if (values[k] !== undefined) body += `VALUE ${k} 0 ${values[k].length}\r\n${values[k]}\r\n`;
      body += "END\r\n";
    } else continue;
    replies.push(fromBackend(owner, backendPort, id, body));
  }
  return replies;
}

/** Whether a frame is kvlb's own ask for a value ("mg <key> v f t k"), which fills its caches. */
export const isFillAsk = (f: SentFrame): boolean =>
  parseFrame(f.bytes).payload.subarray(8, 11).toString("latin1") === "mg ";

/** The frames of a burst less kvlb's own asks: what the clients' requests caused. */
export const withoutFillAsks = (frames: readonly SentFrame[]): SentFrame[] => frames.filter((f) => !isFillAsk(f));
