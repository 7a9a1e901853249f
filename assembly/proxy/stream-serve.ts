// Serving one request of a connection as a datagram of its own: the request (its bytes already
// laid after a frame header, by buildBegin) is numbered n on the connection, held open while it
// is served, so the host learns it is done only once every reply to it is queued.
import { frameWrite, FRAME_HEADER } from "../protocol/udp-frame";
import { serveClient } from "./client";
import { streamBegin, streamEnd } from "./stream-refs";

// Serves the `size` bytes at `payload` (from buildBegin) as request n of connection conn.
export function serveAsRequest(payload: usize, size: usize, conn: u32, n: u32, opts: u8): void {
  const buf = payload - FRAME_HEADER;
  frameWrite(buf, n, 0, 1);
  const own = streamBegin(conn, n);
  serveClient(buf, FRAME_HEADER + size, conn, 0, opts);
  streamEnd(conn, n, own);
}
