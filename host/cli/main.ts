// kvlb's command line: finds the command in the table (commands.ts) and runs it. Operator
// mistakes get one line on stderr and exit code 2; the code of the error decides, never its text.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LibbpfError } from "libbpf-ts";
import { projectRoot } from "../util/paths.js";
import { commands, commandNamed, type Command } from "./commands.js";
import { UsageError, errorCode, exitStatus } from "../errors.js";

function overview(): string {
  const width = Math.max(...commands.map((c) => c.synopsis.length));
  const lines = commands.map((c) =>
    c.synopsis.length <= width && c.synopsis.length < 34
      ? `  ${c.synopsis.padEnd(34)}${c.summary}`
      : `  ${c.synopsis}\n  ${"".padEnd(34)}${c.summary}`,
  );
  return `kvlb: a memcached load balancer with hot-key detection and caching in a WebAssembly core

Usage:
${lines.join("\n")}
  ${"kvlb --help".padEnd(34)}this text; kvlb COMMAND --help: that command's options
  ${"kvlb --version".padEnd(34)}the version
`;
}

function help(c: Command): string {
  return `${c.synopsis}\n  ${c.summary}\n\n${c.usage}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    const about = name === "help" && rest[0] !== undefined ? commandNamed(rest[0]) : undefined;
    process.stdout.write(about ? help(about) : overview());
    return 0;
  }
  if (name === "--version") {
    const pkg = JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string };
    process.stdout.write(`kvlb ${pkg.version}\n`);
    return 0;
  }
  const command = commandNamed(name);
  if (!command) throw new UsageError(`unknown command '${name}' (see kvlb --help)`);
  if (rest.includes("--help") || rest.includes("-h")) {
    process.stdout.write(help(command));
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    const message = e instanceof Error ? e.message : String(e);
    const status = exitStatus(e);
    // node's own argument errors name no command; point at the help
    const hint = status === 2 && errorCode(e) === undefined && !(e instanceof LibbpfError);
    process.stderr.write(`kvlb: ${message}${hint ? " (see kvlb --help)" : ""}\n`);
    if (status === 1 && process.env["KVLB_DEBUG"]) process.stderr.write(`${(e as Error).stack ?? ""}\n`);
    process.exit(status);
  },
);
