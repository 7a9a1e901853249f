// libbpf-ts's XDP attach on a veth pair inside a namespace the test creates and always removes:
// native and generic modes, replacing its own program, refusing another's unless forced, and
// detaching. Each step runs in a separate process, as separate kvlb runs would.
import test from "ava";
import { execFileSync } from "node:child_process";
import { vethNamespace } from "../support/veth-namespace.js";
import { XDP_PROGRAMS } from "../../host/xdp/layout.js";

const ns = vethNamespace(test, "attach");

interface Probe {
  ok: boolean;
  errno?: number;
  message?: string;
  attached?: { mode: string; programName: string; programId: number } | null;
  detached?: boolean;
}

function probe(...args: string[]): Probe {
  const out = execFileSync(
    "ip",
    ["netns", "exec", ns, process.execPath, "--import=tsx", "test/support/xdp-probe.ts", ...args],
    { encoding: "utf8" },
  );
  return JSON.parse(out.trim().split("\n").pop() ?? "{}") as Probe;
}

test.serial("native and generic attach, query and detach", (t) => {
  t.deepEqual(probe("query", "va"), { ok: true, attached: null });
  const native = probe("attach", "va", "native");
  t.true(native.ok, native.message);
  t.is(native.attached?.mode, "native");
  t.is(native.attached?.programName, XDP_PROGRAMS.steer);
  t.deepEqual(probe("detach", "va"), { ok: true, detached: true });
  const generic = probe("attach", "va", "generic");
  t.is(generic.attached?.mode, "generic");
  t.deepEqual(probe("detach", "va"), { ok: true, detached: true });
  t.deepEqual(probe("detach", "va"), { ok: true, detached: false });
});

test.serial("a process replaces its own program, refuses another's unless forced", (t) => {
  const twice = probe("attach-twice", "va", "auto");
  t.true(twice.ok, twice.message);
  t.is(twice.attached?.programName, XDP_PROGRAMS.pass, "its own program is replaced");
  const refused = probe("attach", "va", "auto");
  t.false(refused.ok);
  t.is(refused.errno, 17);
  t.regex(
    refused.message ?? "",
    /^va: XDP program 'kvlb_pass' \(id \d+\) is already attached in native mode; detach it, or force/,
  );
  const forced = probe("attach", "va", "auto", "force");
  t.true(forced.ok, forced.message);
  t.is(forced.attached?.programName, XDP_PROGRAMS.steer);
  t.true(probe("detach", "va").detached);
  t.deepEqual(probe("query", "va"), { ok: true, attached: null }, "no program is left");
});

test.serial("errors name the interface and say what to do", (t) => {
  const none = probe("attach", "eth9");
  t.false(none.ok);
  t.is(none.message, "eth9: no such interface");
});
