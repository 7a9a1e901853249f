// Run inside a test's network namespace (ip netns exec): one XDP operation on an interface,
// printed as JSON, so that a test can see what a separate process is allowed to do.
import { BpfObject, attachXdp, detachXdp, queryXdp, LibbpfError, type XdpMode } from "libbpf-ts";
import { XDP_PROGRAMS } from "../../host/xdp/layout.js";

const [op = "", ifname = "", mode = "auto", force = ""] = process.argv.slice(2);
try {
  if (op === "query") {
    console.log(JSON.stringify({ ok: true, attached: queryXdp(ifname) ?? null }));
  } else if (op === "detach") {
    console.log(JSON.stringify({ ok: true, detached: detachXdp(ifname) }));
  } else {
    const obj = BpfObject.open("build/xdp/kvlb.bpf.o").load();
    const twice = op === "attach-twice";
    let a = attachXdp(ifname, obj.program(XDP_PROGRAMS.steer), { mode: mode as XdpMode, force: force === "force" });
    if (twice) a = attachXdp(ifname, obj.program(XDP_PROGRAMS.pass), { mode: mode as XdpMode });
    // Leave it attached after exit: the kernel keeps an XDP link-less attachment.
    console.log(JSON.stringify({ ok: true, attached: a }));
  }
} catch (e) {
  const errno = e instanceof LibbpfError ? e.errno : -1;
  console.log(JSON.stringify({ ok: false, errno, message: (e as Error).message }));
}
