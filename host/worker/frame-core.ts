// A core set up for the frame data paths (AF_XDP, DPDK): frames in its memory, the backends,
// the kernel UDP sockets beside it, and the frame layer's addresses, ports and next hops.
import type { InspectableCore } from "../core/inspectable-core.js";
import { loadCore } from "../core/loader.js";
import { setClientGuard, cidrPairs } from "../core/client-guard.js";
import {
  setFrameAddresses,
  setFramePort,
  setNeighbours,
  setFrameMode,
  macBytes,
  type Neighbour,
} from "../core/frame-tables.js";
import { withDefaults } from "../core/config.js";
import { PeerLink } from "./peer-link.js";
import {
  openUdpBatch,
  guardSends,
  connectBackends,
  frameLayout,
  STREAM_AREA_BYTES,
  HOST_AREA_BYTES,
  type UdpBatch,
} from "../datapath/socket/udp-batch.js";
import { setBackends, ipv4ToWire } from "../core/backends.js";
import type { WorkerSetup, FramePortSetup } from "./messages.js";

export const FRAME_BYTES = 2048;

export async function openFrameCore(
  setup: WorkerSetup,
  ports: readonly FramePortSetup[],
  neighbours: readonly Neighbour[],
  minFrames: number,
): Promise<{
  core: InspectableCore;
  io: UdpBatch;
  kernelPorts: { listen: number; backend: number };
  peers?: PeerLink;
}> {
  const frames = Math.max(setup.core.frames ?? 0, minFrames);
  const c = withDefaults(setup.core);
  // every write in flight holds a NAT entry, and one call begins or ends at most that many
  const peerEvents = setup.peers ? 2 * (c.natEntries + c.outMax) : 0;
  const core = await loadCore({
    ...(setup.module ? { module: setup.module } : {}),
    config: {
      ...c,
      frames,
      frameBytes: FRAME_BYTES,
      peerEvents,
      worker: setup.peers?.index ?? 0,
      ...(setup.backendTcp ? { backendStreams: true } : {}),
    },
    // backends over TCP lay their replies after the TCP clients' bytes
    hostBytes: setup.backendTcp ? HOST_AREA_BYTES : STREAM_AREA_BYTES,
  });
  setBackends(core, setup.backends);
  const io = openUdpBatch(core, setup.listen, setup.backendBind, {
    shared: setup.peers !== undefined,
    freebind: setup.frameMode?.answerArp === true,
    ...(setup.tcp ? { tcp: setup.tcp } : {}),
    ...(setup.backendTcp ? { backendTcp: setup.backendTcp } : {}),
  });
  // requests to backends reached over TCP leave through the kernel's sockets, not as frames
  if (setup.backendTcp) connectBackends(io, setup.backends, setup.backendTcp);
  const { listen, backend } = io.ports();
  setFrameAddresses(core, setup.listen, backend);
  if (setup.clients) {
    setClientGuard(core, setup.clients);
    io.allowStreams(cidrPairs(setup.clients.allow), cidrPairs(setup.clients.admin));
  }
  ports.forEach((p, i) => setFramePort(core, i, { mac: macBytes(p.mac), address: p.address, ifindex: p.ifindex }));
  setNeighbours(core, [...neighbours]);
  setFrameMode(core, setup.frameMode ?? { repliesViaKernel: false });
  // the core is a module an operator can swap: where its datagrams and frames may go is said
  // out here, and a frame may only come from kvlb's own addresses
  guardSends(io, setup.backends, c.natTimeoutMs);
  const sources = [setup.listen.address, ...ports.map((p) => p.address)].map(wireOrZero).filter((a) => a !== 0);
  io.guardFrames(frameLayout(core), Uint32Array.from(sources));
  const peers = setup.peers ? new PeerLink(setup.peers.rings, setup.peers.index, core) : undefined;
  return { core, io, kernelPorts: { listen, backend }, ...(peers ? { peers } : {}) };
}

function wireOrZero(address: string): number {
  try {
    return ipv4ToWire(address);
  } catch {
    return 0; // a port with no address of its own
  }
}
