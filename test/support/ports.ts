// Each test file's block of UDP/TCP ports on loopback, fixed and apart, so that files running at
// once never reach for the same port. A file takes its block's base, base + 100, and so on, up to base + 700.
// Every block lies below the kernel's ephemeral range (32768 up, by default): the fuzz opens
// thousands of client connections, and an ephemeral port it holds (or one in TIME-WAIT) inside a
// block made another file's memcached fail to bind.
export const blocks = [
  "hostile-input",
  "request-ids",
  "expiry",
  "admin-api",
  "balancer",
  "failover",
  "backend-changes",
  "amplification",
  "fuzz",
  "memcaslap",
  "consistency",
  "module-swap",
  "commands",
  "fuzz-main",
  "demo",
  "cpu-cap",
  "replication",
  "tcp-clients",
  "tcp-backends",
  "memcached-t",
  "tcp-backend-framing",
  "reload",
  "tcp-key-order",
  "migration",
  "tcp-write-batch",
] as const;

export const FIRST_PORT = 12000;
// The most any file uses is base + 700 and a few ports after it.
export const BLOCK_PORTS = 800;

/** The first port of a test file's block. */
export function portBase(file: (typeof blocks)[number]): number {
  return FIRST_PORT + blocks.indexOf(file) * BLOCK_PORTS;
}
