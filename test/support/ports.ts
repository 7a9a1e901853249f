// Each test file's block of UDP/TCP ports on loopback, fixed and apart, so that files running at
// once never reach for the same port. A file takes its block's base, base + 100, and so on.
const blocks = [
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
] as const;

/** The first port of a test file's block of 1,000. */
export function portBase(file: (typeof blocks)[number]): number {
  return 20000 + blocks.indexOf(file) * 1000;
}
