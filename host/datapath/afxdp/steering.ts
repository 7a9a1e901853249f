// kvlb's XDP program on the attached interfaces: one loaded copy per interface (each has its
// own xsks_map, since every veth's socket sits at rx queue 0), configured with the memcached
// port and the backends, attached, given the AF_XDP socket, and detached on the way out.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { BpfObject, attachXdp, detachXdp, queryXdp, programHolders, type XdpMode, type XdpAttachment } from "libbpf-ts";
import { projectRoot } from "../../util/paths.js";
import { ConfigError } from "../../errors.js";
import { XDP_PROGRAMS, type XdpCounter } from "../../xdp/layout.js";
import { configureSteering, setSocket, setReplyPort, readCounters, steerBackends } from "../../xdp/steering-maps.js";

export const xdpObjectPath = (): string => join(projectRoot(), "build/xdp/kvlb.bpf.o");

/** Throws the operator's sentence when this process cannot change XDP programs. */
export function requireRoot(action: string): void {
  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    throw new ConfigError(`${action} XDP needs root (CAP_NET_ADMIN, CAP_BPF)`);
  }
}

export interface SteeredInterface {
  attachment: XdpAttachment;
  setSocket(queue: number, fd: number): void;
  /** The port kvlb's requests to the backends leave from: their replies to it come as frames. */
  setReplyPort(port: number): void;
  /** After a reload: the backends whose replies the program steers to kvlb. */
  steerBackends(backends: readonly { address: string; port: number }[]): void;
  counters(): Record<XdpCounter, number>;
}

/** kvlb's program, by the name the kernel knows it by. */
export const STEER_PROGRAM = XDP_PROGRAMS.steer;

export class Steering {
  private readonly attached: { name: string; obj: BpfObject; attachment: XdpAttachment }[] = [];
  /** kvlb programs found on the interfaces with no process holding them, and replaced. */
  readonly replacedOrphans: { ifname: string; programId: number }[] = [];

  /** Attaches to every interface, or to none: a failure undoes the ones already done. */
  static attach(
    interfaces: readonly string[],
    config: { port: number; backends: readonly { address: string; port: number }[]; mode: XdpMode; force: boolean },
  ): Steering {
    requireRoot("attaching");
    if (!existsSync(xdpObjectPath())) throw new ConfigError("the XDP program is not built (run: bash scripts/setup)");
    const s = new Steering();
    try {
      for (const name of interfaces) s.attachOne(name, config);
    } catch (e) {
      s.detach();
      throw e;
    }
    return s;
  }

  private attachOne(
    name: string,
    config: { port: number; backends: readonly { address: string; port: number }[]; mode: XdpMode; force: boolean },
  ): void {
    // a kvlb program that no process holds was left by a kvlb that is gone (killed, or crashed
    // before it could detach): it serves no one, and a restarted kvlb takes its place
    const present = queryXdp(name);
    const orphan = present?.programName === STEER_PROGRAM && programHolders(present.programId).length === 0;
    const obj = BpfObject.open(xdpObjectPath()).load();
    try {
      configureSteering(obj, config.port, config.backends);
      const attachment = attachXdp(name, obj.program(STEER_PROGRAM), {
        mode: config.mode,
        force: config.force || orphan,
      });
      if (orphan && present) this.replacedOrphans.push({ ifname: name, programId: present.programId });
      this.attached.push({ name, obj, attachment });
    } catch (e) {
      obj.close();
      throw e;
    }
  }

  get interfaces(): SteeredInterface[] {
    return this.attached.map(({ obj, attachment }) => ({
      attachment,
      setSocket: (queue, fd) => setSocket(obj, queue, fd),
      setReplyPort: (port) => setReplyPort(obj, port),
      steerBackends: (backends) => steerBackends(obj, backends),
      counters: () => readCounters(obj),
    }));
  }

  /** Detaches every program this process attached; safe to call twice. */
  detach(): string[] {
    const done: string[] = [];
    for (const { name, obj } of this.attached.splice(0)) {
      try {
        if (detachXdp(name)) done.push(name);
      } catch {
        // the interface is gone, and its program with it
      }
      obj.close();
    }
    return done;
  }
}
