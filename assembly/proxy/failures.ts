// Why kvlb answers a request itself with a server error, and the words each protocol uses for
// it. A client reads these as errors, never as a miss: kvlb reports a miss only when a backend
// did. The lines are static data, so answering allocates nothing.
export const FAIL_NO_BACKENDS: u32 = 0;
export const FAIL_TOO_MANY: u32 = 1; // more commands in one datagram than kvlb tracks
export const FAIL_OVERLOAD: u32 = 2; // the NAT table is full
export const FAIL_TIMEOUT: u32 = 3; // the backend did not answer in time
export const FAIL_DOWN: u32 = 4; // the backend is marked down
export const FAIL_MIGRATING: u32 = 5; // a delete of a key whose copy to its new owner is in flight (proxy/migrate.ts)

// The text and meta protocols' line.
export function failLine(why: u32): string {
  switch (why) {
    case FAIL_NO_BACKENDS:
      return "SERVER_ERROR kvlb has no backends\r\n";
    case FAIL_TOO_MANY:
      return "SERVER_ERROR too many commands in one datagram\r\n";
    case FAIL_OVERLOAD:
      return "SERVER_ERROR kvlb is overloaded\r\n";
    case FAIL_TIMEOUT:
      return "SERVER_ERROR backend timed out\r\n";
    case FAIL_MIGRATING:
      return "SERVER_ERROR kvlb is moving this key to its new server; try again\r\n";
  }
  return "SERVER_ERROR backend down\r\n";
}

// The binary protocol's message, sent with a temporary-failure status.
export function failMessage(why: u32): string {
  switch (why) {
    case FAIL_NO_BACKENDS:
      return "kvlb has no backends";
    case FAIL_TOO_MANY:
      return "too many commands in one datagram";
    case FAIL_OVERLOAD:
      return "kvlb is overloaded";
    case FAIL_TIMEOUT:
      return "backend timed out";
    case FAIL_MIGRATING:
      return "kvlb is moving this key to its new server; try again";
  }
  return "backend down";
}
