// The maps of a program that another loader attached (DPDK's af_xdp driver loads kvlb's object
// itself): found from the interface, opened by id, and closed by the caller.
import { native } from "./native.js";
import { wrap, LibbpfError } from "./errors.js";
import { BpfMap } from "./object.js";
import { queryXdp, type XdpAttachment } from "./xdp.js";

export class AttachedProgram {
  private closed = false;

  private constructor(
    readonly attachment: XdpAttachment,
    private readonly maps: BpfMap[],
  ) {}

  /** The program attached to `ifname`, with its maps open. Throws when none is attached. */
  static of(ifname: string): AttachedProgram {
    const attachment = queryXdp(ifname);
    if (!attachment) throw new LibbpfError(`${ifname}: no XDP program is attached`, 2);
    const raw = wrap(ifname, () => native().progMaps(attachment.programId));
    return new AttachedProgram(
      attachment,
      raw.map((m) => new BpfMap(m)),
    );
  }

  map(name: string): BpfMap {
    if (this.closed) throw new LibbpfError(`${this.attachment.ifname}: the program's maps are closed`, 9);
    // the kernel keeps the first 15 bytes of a map's name
    const m = this.maps.find((x) => x.name === name.slice(0, 15));
    if (!m) {
      throw new LibbpfError(
        `${this.attachment.ifname}: program '${this.attachment.programName}' has no map named ${name}`,
        2,
      );
    }
    return m;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of this.maps) native().closeFd(m.fd);
  }
}
