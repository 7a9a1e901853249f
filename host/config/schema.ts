// The JSON schema of kvlb.yaml. Every section is optional; what is left out keeps its default.
import type { JSONSchemaType } from "ajv";
import { fileSettings, type FileSection, type FileSectionName } from "../core/config.js";

export interface BackendEntry {
  host: string;
  port: number;
  weight?: number;
}

export interface AdminSection {
  /** "ADDR:PORT", or "off". */
  listen?: string;
  /** What every request must carry as "Authorization: Bearer TOKEN"; required beyond loopback. */
  token?: string;
  /** A file whose first line is the token. */
  tokenFile?: string;
  /** Clients (CIDRs) whose flush_all kvlb sends to every backend; none by default. */
  clients?: string[];
}

export interface ConfigFile {
  listen?: string;
  /** "ADDR:PORT", or "off", or the admin API's settings. */
  admin?: string | AdminSection;
  /** "host:port[:weight]" strings or objects. */
  backends?: (string | BackendEntry)[];
  // The core's settings in these four sections come from its field table (core/config.ts).
  detector?: FileSection<"detector"> & {
    /** The core module to start with (a .wasm file); lossy counting's by default. */
    module?: string;
  };
  cache?: FileSection<"cache"> & { enabled?: boolean };
  requests?: FileSection<"requests">;
  /** Who kvlb answers (config/clients.ts), and how much. */
  clients?: FileSection<"clients"> & { allow?: string[] };
  /** Backend health checks and what a down backend's keys do (host/control/health.ts). */
  health?: {
    intervalMs?: number;
    probeTimeoutMs?: number;
    probeFailures?: number;
    requestFailures?: number;
    onDown?: "failover" | "fail";
    minUp?: number;
  };
  /** Live migration of the keys a reload moves (assembly/proxy/migrate.ts). */
  migration?: {
    /** How long after a reload a moved key is still looked for at its old owner; 0: not at all. */
    windowSeconds?: number;
    /** Keys the background mover hands to the workers to copy, per second; 0: hot keys alone. */
    copiesPerSecond?: number;
  };
  /** Clients over TCP, on the listen address and port. */
  tcp?: {
    enabled?: boolean;
    maxConnections?: number;
    idleSeconds?: number;
    /** Reach the backends over TCP instead of UDP (the socket data path). */
    backends?: boolean;
    /** Persistent connections to each backend when tcp.backends is on. */
    backendConnections?: number;
  };
  /** The data path of kvlb run. */
  datapath?: "socket" | "dpdk";
  /** DPDK's EAL arguments, its ports (devargs), and queues per port. */
  dpdk?: { args?: string; ports?: string[]; queues?: number };
}

/** A section of kvlb.yaml: the core fields the table puts there, and its other settings. */
function section(name: FileSectionName, others: Record<string, object> = {}): never {
  const core = fileSettings.filter((f) => f.section === name).map((f) => [f.name, { ...f.schema, nullable: true }]);
  return {
    type: "object",
    nullable: true,
    additionalProperties: false,
    properties: { ...Object.fromEntries(core), ...others },
  } as never; // JSONSchemaType cannot follow a schema built from a table; ajv checks it as built
}

export const configSchema: JSONSchemaType<ConfigFile> = {
  type: "object",
  additionalProperties: false,
  properties: {
    listen: { type: "string", nullable: true },
    // JSONSchemaType cannot spell "a string or an object" for an optional field; ajv checks it as written
    admin: {
      anyOf: [
        { type: "string" },
        {
          type: "object",
          additionalProperties: false,
          properties: {
            listen: { type: "string", nullable: true },
            token: { type: "string", nullable: true, minLength: 16 },
            tokenFile: { type: "string", nullable: true },
            clients: { type: "array", items: { type: "string" }, nullable: true, maxItems: 8 },
          },
        },
      ],
    } as never,
    backends: {
      type: "array",
      nullable: true,
      items: {
        anyOf: [
          { type: "string" },
          {
            type: "object",
            additionalProperties: false,
            required: ["host", "port"],
            properties: {
              host: { type: "string" },
              port: { type: "integer", minimum: 1, maximum: 65535 },
              weight: { type: "integer", minimum: 1, nullable: true },
            },
          },
        ],
      },
    },
    detector: section("detector", { module: { type: "string", nullable: true } }),
    cache: section("cache", { enabled: { type: "boolean", nullable: true } }),
    requests: section("requests"),
    clients: section("clients", { allow: { type: "array", items: { type: "string" }, nullable: true, maxItems: 32 } }),
    health: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        intervalMs: { type: "integer", minimum: 10, nullable: true },
        probeTimeoutMs: { type: "integer", minimum: 10, nullable: true },
        probeFailures: { type: "integer", minimum: 1, nullable: true },
        requestFailures: { type: "integer", minimum: 1, nullable: true },
        onDown: { type: "string", enum: ["failover", "fail"], nullable: true },
        minUp: { type: "integer", minimum: 0, nullable: true },
      },
    },
    migration: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        windowSeconds: { type: "integer", minimum: 0, maximum: 86400, nullable: true },
        copiesPerSecond: { type: "integer", minimum: 0, maximum: 1000000, nullable: true },
      },
    },
    tcp: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        enabled: { type: "boolean", nullable: true },
        maxConnections: { type: "integer", minimum: 1, maximum: 1048576, nullable: true },
        idleSeconds: { type: "integer", minimum: 0, maximum: 86400, nullable: true },
        backends: { type: "boolean", nullable: true },
        backendConnections: { type: "integer", minimum: 1, maximum: 64, nullable: true },
      },
    },
    datapath: { type: "string", enum: ["socket", "dpdk"], nullable: true },
    dpdk: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        args: { type: "string", nullable: true },
        ports: { type: "array", items: { type: "string" }, nullable: true },
        queues: { type: "integer", minimum: 1, maximum: 16, nullable: true },
      },
    },
  },
};
