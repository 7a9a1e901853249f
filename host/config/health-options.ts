// The health checks' settings (kvlb.yaml's health section), with their defaults.
export interface HealthOptions {
  /** How often each backend is probed. */
  intervalMs: number;
  /** A probe not answered whole within this long has failed. */
  probeTimeoutMs: number;
  /** Probes in a row that fail (not answered in time, or refused) before down. */
  probeFailures: number;
  /** Client requests in a row that time out before down. */
  requestFailures: number;
  /** What a down backend's keys do: go to the next server up on the ring, or get SERVER_ERROR. */
  onDown: "failover" | "fail";
  /** Backends up for GET /health/ready to say ready. */
  minUp: number;
}

export const defaultHealth: Readonly<HealthOptions> = Object.freeze({
  intervalMs: 100,
  probeTimeoutMs: 300,
  probeFailures: 2,
  requestFailures: 5,
  onDown: "failover",
  minUp: 1,
});
