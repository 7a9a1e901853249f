// The text protocol's command words, recognised in one place (as memcached's proto_text does),
// so that the proxy dispatches on a code and never on the bytes again.
import { isWord } from "./text";

export const CMD_UNKNOWN: u32 = 0;
export const CMD_GET: u32 = 1;
export const CMD_GETS: u32 = 2;
export const CMD_GAT: u32 = 3;
export const CMD_GATS: u32 = 4;
export const CMD_SET: u32 = 5;
export const CMD_ADD: u32 = 6; // add, replace, append, prepend: stored like a set, never staged
export const CMD_CAS: u32 = 7;
export const CMD_DELETE: u32 = 8;
export const CMD_ARITH: u32 = 9; // incr, decr
export const CMD_TOUCH: u32 = 10;
export const CMD_MG: u32 = 11;
export const CMD_MS: u32 = 12;
export const CMD_MD: u32 = 13;
export const CMD_MA: u32 = 14;
export const CMD_ME: u32 = 15;
export const CMD_MN: u32 = 16;
export const CMD_VERSION: u32 = 17;
// What a client must not reach a backend with through a proxy: whole-server commands
// (flush_all, stats, verbosity, shutdown, ...) that would act on one arbitrary backend, or on
// all of them behind the operator's back.
export const CMD_REFUSED: u32 = 18;
// flush_all: refused, but from a client in admin.clients, sent to every backend.
export const CMD_FLUSH_ALL: u32 = 19;
export const CMD_QUIT: u32 = 20; // closes a TCP connection once the replies before it are written

// The code of the command word [p, end).
export function commandCode(p: usize, end: usize): u32 {
  const n = end - p;
  if (n == 0) return CMD_UNKNOWN;
  const c = load<u8>(p);
  if (n == 2 && c == 0x6d) {
    // m?
    const op = load<u8>(p + 1);
    if (op == 0x67) return CMD_MG;
    if (op == 0x73) return CMD_MS;
    if (op == 0x64) return CMD_MD;
    if (op == 0x61) return CMD_MA;
    if (op == 0x65) return CMD_ME;
    if (op == 0x6e) return CMD_MN;
    return CMD_UNKNOWN;
  }
  if (isWord(p, end, "get")) return CMD_GET;
  if (isWord(p, end, "gets")) return CMD_GETS;
  if (isWord(p, end, "gat")) return CMD_GAT;
  if (isWord(p, end, "gats")) return CMD_GATS;
  if (isWord(p, end, "set")) return CMD_SET;
  if (isWord(p, end, "add") || isWord(p, end, "replace") || isWord(p, end, "append") || isWord(p, end, "prepend"))
    return CMD_ADD;
  if (isWord(p, end, "cas")) return CMD_CAS;
  if (isWord(p, end, "delete")) return CMD_DELETE;
  if (isWord(p, end, "incr") || isWord(p, end, "decr")) return CMD_ARITH;
  if (isWord(p, end, "touch")) return CMD_TOUCH;
  if (isWord(p, end, "version")) return CMD_VERSION;
  if (isWord(p, end, "flush_all")) return CMD_FLUSH_ALL;
  if (isWord(p, end, "quit")) return CMD_QUIT;
  if (
    isWord(p, end, "stats") ||
    isWord(p, end, "verbosity") ||
    isWord(p, end, "shutdown") ||
    isWord(p, end, "misbehave") ||
    isWord(p, end, "slabs") ||
    isWord(p, end, "lru") ||
    isWord(p, end, "lru_crawler") ||
    isWord(p, end, "watch") ||
    isWord(p, end, "cache_memlimit") ||
    isWord(p, end, "extstore") ||
    isWord(p, end, "debugtime") ||
    isWord(p, end, "verify_key") ||
    isWord(p, end, "mcp_config_pools")
  )
    return CMD_REFUSED;
  return CMD_UNKNOWN;
}
