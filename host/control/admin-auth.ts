// Whether an admin request carries the token (Authorization: Bearer TOKEN), compared in
// constant time. Where a token is required: config/admin-token.ts.
import { timingSafeEqual, createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";

const digest = (s: string): Buffer => createHash("sha256").update(s).digest();

/** Whether a request carries the token; always true when there is none to carry. */
export function authorized(req: IncomingMessage, token: string | undefined): boolean {
  if (token === undefined) return true;
  const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? "");
  // compared as digests: equal lengths, and no early exit that times the token out
  return m !== null && timingSafeEqual(digest(m[1] ?? ""), digest(token));
}
