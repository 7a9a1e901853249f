// What `kvlb run` runs with: the built-in defaults, then kvlb.yaml, then the command-line flags.
// The file is checked against its schema on load, and each mistake is named with its path.
import { readFileSync } from "node:fs";
import { parse as parseYaml, YAMLParseError } from "yaml";
import { Ajv, type ErrorObject } from "ajv";
import { configSchema, type ConfigFile, type BackendEntry } from "./schema.js";
import { parseListen, parseBackend, DEFAULT_LISTEN, type Endpoint, type BackendSpec } from "./endpoints.js";
import {
  withDefaults,
  describeConfigError,
  fileSettings,
  type CoreConfig,
  type FileSectionName,
} from "../core/config.js";
import { readTokenFile, checkAdminBinding } from "./admin-token.js";
import { defaultHealth, type HealthOptions } from "./health-options.js";
import { parseCidr, type Cidr } from "./clients.js";
import type { TcpLimits, BackendTcp } from "../datapath/socket/udp-batch.js";
import { ConfigError } from "../errors.js";

export interface RunFlags {
  listen?: string;
  admin?: string;
  adminTokenFile?: string;
  onDown?: string;
  backend: string[];
  timeout?: string;
  cache?: string;
  replicas?: string;
  module?: string;
}

export interface RunConfig {
  listen: Endpoint;
  admin: Endpoint | undefined;
  /** What every admin request must carry; undefined for none (loopback only). */
  adminToken: string | undefined;
  health: HealthOptions;
  /** clients.allow as configured; undefined derives it from the listen address. */
  clientsAllow: string[] | undefined;
  /** Clients whose flush_all kvlb sends to every backend (admin.clients). */
  adminClients: Cidr[];
  backends: BackendSpec[];
  core: Partial<CoreConfig>;
  cache: boolean;
  /** The core module the workers start with; undefined for the default (lossy counting). */
  module: string | undefined;
  /** Clients over TCP: undefined when tcp.enabled is false. */
  tcp: TcpLimits | undefined;
  /** Backends over TCP: undefined when tcp.backends is off (they are reached over UDP). */
  backendTcp: BackendTcp | undefined;
  /** After a reload moves keys, how long a moved key is still looked for at its old owner (0: not). */
  migrationWindowSeconds: number;
  /** Keys the migration's background mover copies per second (0: hot keys alone). */
  migrationCopiesPerSecond: number;
}

/** migration.windowSeconds unless kvlb.yaml says otherwise. */
export const DEFAULT_MIGRATION_WINDOW_SECONDS = 60;
/** migration.copiesPerSecond unless kvlb.yaml says otherwise. */
export const DEFAULT_MIGRATION_COPIES_PER_SECOND = 5000;

/** The TCP side's limits unless kvlb.yaml's tcp section says otherwise. */
export const DEFAULT_TCP: TcpLimits = { maxConnections: 4096, idleSeconds: 300 };
/**
 * Connections to each backend when tcp.backends is on and tcp.backendConnections is not set: one,
 * as twemproxy and mcrouter keep, for every connection more splits each burst's requests to a
 * backend over more sends (bench:tcp: 4% more CPU per request with two).
 */
export const DEFAULT_BACKEND_CONNECTIONS = 1;

const validate = new Ajv({ allErrors: false }).compile(configSchema);

function describe(e: ErrorObject): string {
  const where = e.instancePath === "" ? "top level" : e.instancePath;
  if (e.keyword === "additionalProperties") {
    return `${where}: unknown setting '${String(e.params["additionalProperty"])}'`;
  }
  if (e.keyword === "anyOf") return `${where}: expected "host:port[:weight]" or {host, port, weight}`;
  return `${where}: ${e.message ?? "invalid"}`;
}

/** Refuses tcp.backends where the frames go to the backends as UDP and no kernel may reach them (DPDK). */
export function requireUdpBackends(config: RunConfig, path: string): void {
  if (config.backendTcp)
    throw new ConfigError(
      `tcp.backends: ${path} sends requests to the backends as UDP frames; backends over TCP need the kernel's sockets (kvlb run, kvlb attach)`,
    );
}

/** Where the admin API listens unless the config or --admin says otherwise. */
export const DEFAULT_ADMIN = "127.0.0.1:9911";

export function loadConfigFile(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ConfigError(`${path}: ${code === "ENOENT" ? "no such file" : `cannot read it (${code ?? "error"})`}`);
  }
  let data: unknown;
  try {
    data = parseYaml(text) ?? {};
  } catch (e) {
    if (e instanceof YAMLParseError) {
      const line = e.linePos?.[0].line;
      throw new ConfigError(`${path}${line ? ` line ${line}` : ""}: not valid YAML (${e.code})`);
    }
    throw e;
  }
  if (!validate(data)) {
    // A backend that fits neither form reports each form's complaint before the anyOf one.
    const errors = validate.errors ?? [];
    const first = errors.find((e) => e.keyword === "anyOf") ?? errors[0];
    throw new ConfigError(`${path}: ${first ? describe(first) : "does not match the schema"}`);
  }
  return data;
}

function backendOf(entry: string | BackendEntry): BackendSpec {
  if (typeof entry === "string") return parseBackend(entry);
  return { host: entry.host, port: entry.port, weight: entry.weight ?? 1 };
}

function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The core fields kvlb.yaml sets, where the field table says they sit. */
function fromFile(file: ConfigFile): Partial<CoreConfig> {
  const sections: Record<FileSectionName, Record<string, unknown> | undefined> = {
    detector: file.detector,
    cache: file.cache,
    requests: file.requests,
    clients: file.clients,
  };
  return Object.fromEntries(fileSettings.map((f) => [f.key, sections[f.section]?.[f.name]]));
}

export function resolveRunConfig(file: ConfigFile, flags: RunFlags, source = "config"): RunConfig {
  const listen = parseListen(flags.listen ?? file.listen ?? DEFAULT_LISTEN);
  const section = typeof file.admin === "object" ? file.admin : { listen: file.admin };
  const adminText = flags.admin ?? section.listen ?? DEFAULT_ADMIN;
  const admin = adminText === "off" ? undefined : parseListen(adminText, DEFAULT_ADMIN);
  const tokenFile = flags.adminTokenFile ?? section.tokenFile;
  const adminToken = tokenFile !== undefined ? readTokenFile(tokenFile) : section.token;
  if (admin) checkAdminBinding(admin.address, admin.port, adminToken);
  const backends = flags.backend.length > 0 ? flags.backend.map(parseBackend) : (file.backends ?? []).map(backendOf);

  let timeoutMs: number | undefined;
  if (flags.timeout !== undefined) {
    timeoutMs = Number(flags.timeout);
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1)
      throw new ConfigError(`--timeout ${flags.timeout}: milliseconds, at least 1`);
  }
  let cache = file.cache?.enabled ?? true;
  if (flags.cache !== undefined) {
    if (flags.cache !== "on" && flags.cache !== "off") throw new ConfigError(`--cache ${flags.cache}: on or off`);
    cache = flags.cache === "on";
  }
  if (flags.replicas !== undefined && flags.replicas !== "on" && flags.replicas !== "off")
    throw new ConfigError(`--replicas ${flags.replicas}: on or off`);
  const onDown = flags.onDown ?? file.health?.onDown;
  if (onDown !== undefined && onDown !== "failover" && onDown !== "fail")
    throw new ConfigError(`--on-down ${onDown}: failover or fail`);
  const health: HealthOptions = { ...defaultHealth, ...defined(file.health ?? {}), ...(onDown ? { onDown } : {}) };
  // the flags win over the file, and cache off empties both layers whatever their sizes
  const core: Partial<CoreConfig> = {
    ...defined(fromFile(file)),
    ...defined({ natTimeoutMs: timeoutMs, failover: onDown === undefined ? undefined : onDown === "failover" }),
    ...(cache ? {} : { l1Entries: 0, l2Entries: 0 }),
    ...(flags.replicas === "off" ? { replicaKeys: 0 } : {}),
  };
  const clientsAllow = file.clients?.allow;
  const adminClients = (section.clients ?? []).map((c, i) => parseCidr(c, `${source}: /admin/clients/${i}`));
  clientsAllow?.forEach((c, i) => parseCidr(c, `${source}: /clients/allow/${i}`));
  const problem = describeConfigError(withDefaults(core));
  if (problem) throw new ConfigError(`${source}: ${problem}`);
  return {
    listen,
    admin,
    adminToken,
    backends,
    core,
    cache,
    health,
    clientsAllow,
    adminClients,
    module: flags.module ?? file.detector?.module,
    tcp:
      file.tcp?.enabled === false
        ? undefined
        : {
            ...DEFAULT_TCP,
            ...defined({ maxConnections: file.tcp?.maxConnections, idleSeconds: file.tcp?.idleSeconds }),
          },
    backendTcp: file.tcp?.backends
      ? { connections: file.tcp.backendConnections ?? DEFAULT_BACKEND_CONNECTIONS }
      : undefined,
    migrationWindowSeconds: file.migration?.windowSeconds ?? DEFAULT_MIGRATION_WINDOW_SECONDS,
    migrationCopiesPerSecond: file.migration?.copiesPerSecond ?? DEFAULT_MIGRATION_COPIES_PER_SECOND,
  };
}
