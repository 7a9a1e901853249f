// Fails when a source file imports itself through others (a cycle), in the core (assembly/),
// the host (host/), the tests (test/) or the tools, and when two folders of the core or the host
// import each other. Relative imports only: a package cannot close a cycle in ours.
//
//   node --import=tsx tools/import-cycles.ts [ROOT]   (ROOT: the repository, by default this one)
import { readFileSync, readdirSync, existsSync, statSync } from "node:fs";
import { join, dirname, relative, resolve } from "node:path";

const root = resolve(process.argv[2] ?? join(dirname(new URL(import.meta.url).pathname), ".."));
const trees = ["assembly", "host", "test", "tools"];
const skip = new Set(["node_modules", "build", "dist"]);

function sources(dir: string, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(e.name)) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) sources(p, out);
    else if (e.name.endsWith(".ts") && !e.name.endsWith(".d.ts")) out.push(p);
  }
  return out;
}

// import … from "x", import "x", export … from "x", import("x")
const IMPORT =
  /(?:^|[\s;])(?:import|export)\s[^"';]*?from\s*["']([^"']+)["']|(?:^|[\s;])import\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function targetOf(from: string, spec: string): string | undefined {
  if (!spec.startsWith(".")) return undefined;
  const base = resolve(dirname(from), spec);
  for (const c of [base.replace(/\.js$/, ".ts"), `${base}.ts`, join(base, "index.ts")]) {
    if (existsSync(c) && statSync(c).isFile()) return c;
  }
  return undefined;
}

// Comments are dropped first, so that an import named in a comment is not one.
function importsOf(file: string): string[] {
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    const t = targetOf(file, m[1] ?? m[2] ?? m[3] ?? "");
    if (t) out.push(t);
  }
  return out;
}

/** The strongly connected components with more than one member (Tarjan), each sorted. */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      for (let w = stack.pop(); w !== undefined; w = w === v ? undefined : stack.pop()) {
        on.delete(w);
        scc.push(w);
      }
      const self = (graph.get(v) ?? []).includes(v);
      if (scc.length > 1 || self) found.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!index.has(v)) visit(v);
  return found;
}

const files = trees.filter((t) => existsSync(join(root, t))).flatMap((t) => sources(join(root, t)));
const fileGraph = new Map<string, string[]>();
for (const f of files)
  fileGraph.set(
    relative(root, f),
    importsOf(f).map((t) => relative(root, t)),
  );

// Folders: within assembly/ and host/, each folder (files directly in it) is a node.
const folderOf = (f: string): string => dirname(f);
const folderGraph = new Map<string, string[]>();
for (const [f, targets] of fileGraph) {
  if (!f.startsWith("assembly/") && !f.startsWith("host/")) continue;
  const from = folderOf(f);
  const list = folderGraph.get(from) ?? [];
  for (const t of targets) if (folderOf(t) !== from && !list.includes(folderOf(t))) list.push(folderOf(t));
  folderGraph.set(from, list);
}

const fileCycles = cycles(fileGraph);
const folderCycles = cycles(folderGraph);
for (const c of fileCycles) console.log(`import cycle among files: ${c.join(", ")}`);
for (const c of folderCycles) console.log(`import cycle among folders: ${c.join(", ")}`);
if (fileCycles.length + folderCycles.length > 0) {
  console.log("break each cycle: move what both sides need into a module that neither imports back");
  process.exit(1);
}
console.log(`import-cycles: ${fileGraph.size} files, ${folderGraph.size} folders, no cycle`);
