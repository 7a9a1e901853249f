// tools/import-cycles.ts, the check `npm run lint` runs, on small trees made for the test: it
// must fail on a cycle between files and on one between folders, and pass a tree without.
import test from "ava";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";

function check(files: Record<string, string>): { status: number | null; out: string } {
  const root = mkdtempSync(join(tmpdir(), "kvlb-cycles-"));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(root, dirname(path)), { recursive: true });
      writeFileSync(join(root, path), text);
    }
    const r = spawnSync(process.execPath, ["--import=tsx", "tools/import-cycles.ts", root], { encoding: "utf8" });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("two host files that import each other fail the check, and both are named", (t) => {
  const r = check({
    "host/a/one.ts": 'import { two } from "./two.js";\nexport const one = two;\n',
    "host/a/two.ts": 'import type { one } from "./one.js";\nexport const two = 2 as unknown as typeof one;\n',
  });
  t.is(r.status, 1);
  t.regex(r.out, /import cycle among files: host\/a\/one\.ts, host\/a\/two\.ts/);
});

test("two core folders that import each other fail the check, though no file cycle exists", (t) => {
  const r = check({
    "assembly/cache/l1.ts": 'import { h } from "../util/hash";\nexport const l1 = h;\n',
    "assembly/util/hash.ts": "export const h = 1;\n",
    "assembly/util/size.ts": 'import { l1 } from "../cache/l1";\nexport const s = l1;\n',
  });
  t.is(r.status, 1);
  t.regex(r.out, /import cycle among folders: assembly\/cache, assembly\/util/);
});

test("a layered tree passes, and imports named only in comments do not count", (t) => {
  const r = check({
    "host/low/a.ts": '// import { b } from "../high/b.js";\nexport const a = 1;\n',
    "host/high/b.ts": 'import { a } from "../low/a.js";\nexport const b = a;\n',
  });
  t.is(r.status, 0, r.out);
  t.regex(r.out, /2 files, 2 folders, no cycle/);
});
