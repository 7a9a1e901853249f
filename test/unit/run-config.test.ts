// kvlb.yaml: loaded, checked against its schema with each mistake named, and overridden by flags.
import test from "ava";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigFile, resolveRunConfig, requireUdpBackends } from "../../host/config/run-config.js";

const dir = mkdtempSync(join(tmpdir(), "kvlb-config-"));
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

test("the example config loads, and its values reach the core", (t) => {
  const c = resolveRunConfig(loadConfigFile("kvlb.example.yaml"), { backend: [] });
  t.deepEqual(c.listen, { address: "127.0.0.1", port: 11311 });
  t.deepEqual(c.backends, [
    { host: "127.0.0.1", port: 11211, weight: 1 },
    { host: "127.0.0.1", port: 11212, weight: 2 },
  ]);
  t.is(c.core.support, 0.01);
  t.is(c.core.natTimeoutMs, 1000);
  t.true(c.cache);
});

test("flags override the file", (t) => {
  const path = file("a.yaml", "listen: 127.0.0.1:1000\nbackends: [127.0.0.1:1]\nrequests: { timeoutMs: 50 }\n");
  const c = resolveRunConfig(loadConfigFile(path), {
    backend: ["127.0.0.1:2:3"],
    listen: "127.0.0.1:2000",
    timeout: "70",
    admin: "off",
  });
  t.is(c.listen.port, 2000);
  t.deepEqual(c.backends, [{ host: "127.0.0.1", port: 2, weight: 3 }]);
  t.is(c.core.natTimeoutMs, 70);
  t.is(c.admin, undefined);
});

test("cache off leaves the detector but gives the caches no entries", (t) => {
  const off = resolveRunConfig(loadConfigFile(file("b.yaml", "cache: { enabled: false, l1Entries: 99 }\n")), {
    backend: [],
  });
  t.false(off.cache);
  t.is(off.core.l1Entries, 0);
  t.is(off.core.l2Entries, 0);
  t.is(resolveRunConfig({}, { backend: [], cache: "off" }).core.l1Entries, 0);
});

test("each mistake is named with where it is", (t) => {
  const err = (text: string): string =>
    t.throws(() => resolveRunConfig(loadConfigFile(file("bad.yaml", text)), { backend: [] }))?.message ?? "";
  t.regex(err("cache: { l1Entrys: 5 }\n"), /bad\.yaml: \/cache: unknown setting 'l1Entrys'/);
  t.regex(err("detector: { support: 2 }\n"), /bad\.yaml: \/detector\/support: must be <= 1/);
  t.regex(err("backends: [ {host: a} ]\n"), /\/backends\/0: expected "host:port\[:weight\]"/);
  t.regex(err("listen: [\n"), /bad\.yaml line \d: not valid YAML/);
  t.regex(err("backends: [ 'x:99999' ]\n"), /x:99999: port must be 1-65535/);
  t.regex(err("detector: { support: 0.01, epsilon: 0.05 }\n"), /support 0.01: must be above epsilon/);
  t.regex(t.throws(() => loadConfigFile(join(dir, "missing.yaml")))?.message ?? "", /missing\.yaml: no such file/);
  t.regex(t.throws(() => resolveRunConfig({}, { backend: [], cache: "maybe" }))?.message ?? "", /--cache maybe/);
});

test("tcp.backends turns on TCP to the backends with 1 connection each unless told; off by default; the DPDK path refuses it", (t) => {
  const off = resolveRunConfig(loadConfigFile(file("udp.yaml", "backends: [127.0.0.1:1]\n")), { backend: [] });
  t.is(off.backendTcp, undefined);
  t.notThrows(() => requireUdpBackends(off, "kvlb attach"));
  const on = resolveRunConfig(loadConfigFile(file("tcp.yaml", "backends: [127.0.0.1:1]\ntcp: { backends: true }\n")), {
    backend: [],
  });
  t.deepEqual(on.backendTcp, { connections: 1 });
  t.deepEqual(on.tcp, { maxConnections: 4096, idleSeconds: 300 }, "the client side keeps its own limits");
  const four = resolveRunConfig(
    loadConfigFile(file("tcp4.yaml", "backends: [127.0.0.1:1]\ntcp: { backends: true, backendConnections: 4 }\n")),
    { backend: [] },
  );
  t.deepEqual(four.backendTcp, { connections: 4 });
  const e = t.throws(() => requireUdpBackends(on, "the DPDK data path"));
  t.is((e as { code?: string }).code, "KVLB_CONFIG");
  t.regex(e?.message ?? "", /^tcp\.backends: the DPDK data path sends requests to the backends as UDP frames/);
  const bad = t.throws(() => loadConfigFile(file("tcp0.yaml", "tcp: { backendConnections: 0 }\n")));
  t.regex(bad?.message ?? "", /backendConnections/);
});
