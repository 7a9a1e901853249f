// A namespace holding one veth pair (va, vb), up, with no addresses: where a test attaches XDP
// or binds an AF_XDP socket. The test creates it before and always deletes it after.
import { execFileSync } from "node:child_process";
import type { TestFn } from "ava";

const ip = (...args: string[]): string => execFileSync("ip", args, { encoding: "utf8" });

/** Registers the namespace's setup and teardown on `test`; returns its name. */
export function vethNamespace(test: TestFn, prefix: string): string {
  const ns = `kvlbt-${prefix}-${process.pid}`;
  test.before(() => {
    ip("netns", "add", ns);
    ip("-n", ns, "link", "add", "va", "type", "veth", "peer", "name", "vb");
    ip("-n", ns, "link", "set", "va", "up");
    ip("-n", ns, "link", "set", "vb", "up");
  });
  test.after.always(() => {
    try {
      ip("netns", "del", ns);
    } catch {
      // already gone
    }
  });
  return ns;
}
