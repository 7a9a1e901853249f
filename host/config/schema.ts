// The JSON schema of kvlb.yaml. Every section is optional; what is left out keeps its default.
import type { JSONSchemaType } from "ajv";

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
  detector?: {
    support?: number;
    epsilon?: number;
    warm?: number;
    window?: number;
    capacity?: number;
    /** The core module to start with (a .wasm file); lossy counting's by default. */
    module?: string;
  };
  cache?: { enabled?: boolean; l1Entries?: number; l1Bytes?: number; l2Entries?: number; l2SlotBytes?: number };
  requests?: { timeoutMs?: number; natEntries?: number };
  /** Who kvlb answers, and how much (config/clients.ts). */
  clients?: { allow?: string[]; replyRatio?: number; replyBytesPerSecond?: number; budgetSlots?: number };
  /** Backend health checks and what a down backend's keys do (host/control/health.ts). */
  health?: {
    intervalMs?: number;
    probeTimeoutMs?: number;
    probeFailures?: number;
    requestFailures?: number;
    onDown?: "failover" | "fail";
    minUp?: number;
  };
  /** The data path of kvlb run. */
  datapath?: "socket" | "dpdk";
  /** DPDK's EAL arguments, its ports (devargs), and queues per port. */
  dpdk?: { args?: string; ports?: string[]; queues?: number };
}

const whole = { type: "integer", minimum: 0, nullable: true } as const;

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
    detector: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        support: { type: "number", exclusiveMinimum: 0, maximum: 1, nullable: true },
        epsilon: { type: "number", exclusiveMinimum: 0, exclusiveMaximum: 1, nullable: true },
        warm: { type: "number", minimum: 0, maximum: 1, nullable: true },
        window: whole,
        capacity: whole,
        module: { type: "string", nullable: true },
      },
    },
    cache: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        enabled: { type: "boolean", nullable: true },
        l1Entries: whole,
        l1Bytes: whole,
        l2Entries: whole,
        l2SlotBytes: whole,
      },
    },
    requests: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        timeoutMs: { type: "integer", minimum: 1, nullable: true },
        natEntries: { type: "integer", minimum: 16, maximum: 65536, nullable: true },
      },
    },
    clients: {
      type: "object",
      nullable: true,
      additionalProperties: false,
      properties: {
        allow: { type: "array", items: { type: "string" }, nullable: true, maxItems: 32 },
        replyRatio: whole,
        replyBytesPerSecond: whole,
        budgetSlots: whole,
      },
    },
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
