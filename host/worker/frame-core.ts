// A core set up for the frame data paths (AF_XDP, DPDK): frames in its memory, the backends,
// the kernel UDP sockets beside it, and the frame layer's addresses, ports and next hops.
import type { Core } from "../core/core.js";
import { loadCore } from "../core/loader.js";
import { setBackends } from "../core/backends.js";
import { setFrameAddresses, setFramePort, setNeighbours, macBytes, type Neighbour } from "../core/frame-tables.js";
import { openUdpBatch, type UdpBatch } from "../datapath/socket/udp-batch.js";
import type { WorkerSetup, FramePortSetup } from "./messages.js";

export const FRAME_BYTES = 2048;

export async function openFrameCore(
  setup: WorkerSetup,
  ports: readonly FramePortSetup[],
  neighbours: readonly Neighbour[],
  minFrames: number,
): Promise<{ core: Core; io: UdpBatch; kernelPorts: { listen: number; backend: number } }> {
  const frames = Math.max(setup.core.frames ?? 0, minFrames);
  const core = await loadCore({ config: { ...setup.core, frames, frameBytes: FRAME_BYTES }, hostBytes: 4096 });
  setBackends(core, setup.backends);
  const io = openUdpBatch(core, setup.listen, setup.backendBind);
  const { listen, backend } = io.ports();
  setFrameAddresses(core, setup.listen, backend);
  ports.forEach((p, i) => setFramePort(core, i, { mac: macBytes(p.mac), address: p.address, ifindex: p.ifindex }));
  setNeighbours(core, [...neighbours]);
  return { core, io, kernelPorts: { listen, backend } };
}
