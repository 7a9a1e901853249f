// A datagram from a backend: found in the NAT table by its request id, given back the client's
// id, read as far as its kind needs (a get's values fill the caches, its END may be swallowed
// for a group; a write's answer closes the write), and sent on to the client.
import { statInc } from "../layout/header";
import { keyHash } from "../util/hash";
import { writeEnd, fillFromRead } from "../cache/proxy-writes";
import { backendFrom, backendDone } from "../route/backends";
import {
  findNewline,
  skipSpaces,
  tokenEnd,
  parseDecimal,
  startsWith,
  isWord,
  contentEnd,
  fits,
  NOT_FOUND,
} from "../protocol/text";
import { S_BACKEND_DATAGRAMS, S_DROP_FRAME, S_DROP_TOO_LARGE, S_DROP_STRAY, S_LATE_REPLIES } from "../abi/abi";
import { FRAME_HEADER, frameId, frameSeq, frameTotal } from "../protocol/udp-frame";
import {
  natEntry,
  natFind,
  natFree,
  NAT_LATE,
  NAT_NONE,
  N_KIND,
  N_BACKEND,
  N_FLAGS,
  N_CLIENT_ADDR,
  N_CLIENT_PORT,
  N_CLIENT_ID,
  N_STAMP,
  N_HASH,
  N_SEEN,
  N_ENDED,
  N_GROUP,
  N_ORDER,
  N_TIME,
  NK_GET,
  NK_GETS,
  NK_OTHER,
  NK_FILL,
  NK_WRITE,
  NK_META_WRITE,
  NK_FLUSH,
  NF_NOREPLY,
  NF_QUIET,
  NF_STAGED,
  NF_MG,
  NF_BINARY,
  NF_COPY,
  NF_PLACED,
  NK_COPY_READ,
  NK_COPY_WRITE,
  NK_PROBE,
  NK_MIG_READ,
  NK_MIG_COPY,
  NK_MIG_DELETE,
} from "./nat";
import { missFallsBack, migrateReadAnswered, migrateCopyAnswered, migrateDeleteAnswered } from "./migrate";
import { copyReadAnswered, copyWriteAnswered, copyGetAnswered, replicaWriteDone } from "./replica-fill";
import { childDone, groupPassesEnd, groupFailed, groupErrored, sendAfter, DONE_PASS_END, work, W_VA } from "./context";
import { orderedId, ORDER_NONE, ORDER_ERROR, ORDER_END } from "./reply-order";
import { valuePlace } from "./key-places";
import { BIN_HEADER, BIN_RESPONSE, BS_OK, BS_KEY_NOT_FOUND, binStatus } from "../protocol/binary";
import { forwardReply, replyText, valueBlock, valueBlockLen } from "../io/out-ring";
import { keyValid } from "../protocol/keys";
import { barrierFillDone } from "../cache/barrier";
import { expiryAfter, NOT_CACHEABLE } from "../cache/expiry";
import { probeAnswered } from "./probe";
import {
  readVa,
  VA_FLAGS,
  VA_FLAGS_END,
  VA_KEY,
  VA_KEY_END,
  VA_TTL,
  VA_SIZE_AT,
  VA_SIZE_END,
  VA_SIZE,
  VA_DATA,
} from "../protocol/meta-value";

export function handleBackend(slot: usize, len: usize, addr: u32, port: u32, truncated: bool): void {
  statInc(S_BACKEND_DATAGRAMS);
  if (truncated) {
    statInc(S_DROP_TOO_LARGE);
    return;
  }
  if (len < FRAME_HEADER) {
    statInc(S_DROP_FRAME);
    return;
  }
  const b = backendFrom(addr, port);
  if (b == 0xffffffff) {
    statInc(S_DROP_STRAY);
    return;
  }
  const id = natFind(frameId(slot));
  if (id == NAT_LATE) {
    statInc(S_LATE_REPLIES); // its request was given up (and answered with an error): drop it
    return;
  }
  const e = natEntry(id);
  if (<u32>load<u8>(e + N_BACKEND) != b) {
    statInc(S_DROP_STRAY);
    return;
  }
  const kind = load<u8>(e + N_KIND);
  if (kind == NK_PROBE) {
    probeAnswered(id, b, slot, len);
    return;
  }
  if (kind == NK_FILL) {
    // kvlb's own ask: its answer fills the caches and goes to no client
    if (frameTotal(slot) == 1) fillFromMg(e, slot + FRAME_HEADER, slot + len);
    barrierFillDone(load<u64>(e + N_HASH));
    backendDone(b, false);
    natFree(id);
    return;
  }
  if (kind == NK_MIG_READ || kind == NK_MIG_COPY || kind == NK_MIG_DELETE) {
    // kvlb's own traffic for a live migration: it reaches no client
    const single = frameTotal(slot) == 1;
    if (kind == NK_MIG_READ) migrateReadAnswered(e, slot + FRAME_HEADER, slot + len, single);
    else if (kind == NK_MIG_COPY) migrateCopyAnswered(e, slot + FRAME_HEADER, slot + len, false);
    else migrateDeleteAnswered(e, slot + FRAME_HEADER, slot + len, false);
    backendDone(b, false);
    natFree(id);
    return;
  }
  if (kind == NK_COPY_READ || kind == NK_COPY_WRITE) {
    // kvlb's own traffic for a replica set: it reaches no client
    if (kind == NK_COPY_READ) copyReadAnswered(e, slot + FRAME_HEADER, slot + len, frameTotal(slot) == 1);
    else copyWriteAnswered(e, slot + FRAME_HEADER, slot + len, false);
    backendDone(b, false);
    natFree(id);
    return;
  }
  const flags = load<u8>(e + N_FLAGS);
  const cAddr = load<u32>(e + N_CLIENT_ADDR);
  const cPort = <u32>load<u16>(e + N_CLIENT_PORT);
  const cId = <u32>load<u16>(e + N_CLIENT_ID);
  if ((flags & NF_COPY) != 0) {
    if (copyGetAnswered(e, b, slot, len, frameTotal(slot) == 1, cAddr, cPort, cId)) {
      backendDone(b, false);
      natFree(id);
    }
    return;
  }
  const p = slot + FRAME_HEADER;
  const end = slot + len;
  let sendLen = len;
  let done: u32 = 0;
  let finished = false;
  let forward = true;
  // a piece of a reply put in order (reply-order.ts): its END, when the client is to see one, goes
  // as a piece of its own, after every value
  const order = <u32>load<u16>(e + N_ORDER);
  let pieceId = orderedId(cId, (flags & NF_PLACED) != 0 ? valuePlace(e, slot, end) : order);
  let endAlone = false;
  if (kind == NK_GET || kind == NK_GETS) {
    // a moved key's miss at its new owner: the get goes on to its old owner, under this entry
    if (frameTotal(slot) == 1 && missFallsBack(id, b, p, end)) return;
    if (frameTotal(slot) == 1) {
      // VALUE blocks, then maybe END; memcached 1.6 sends each in a message of its own
      let q = p;
      while (startsWith(q, end, "VALUE ")) {
        const next = valueBlockEnd(q, end);
        if (next == 0) break;
        q = next;
      }
      if (end - q == 5 && startsWith(q, end, "END\r\n")) {
        finished = true;
        done = childDone(e, false);
        if ((done & DONE_PASS_END) == 0 || order != ORDER_NONE) {
          if (q == p) forward = false;
          else sendLen -= 5;
          endAlone = order != ORDER_NONE && (done & DONE_PASS_END) != 0;
        }
      } else if (q == p) {
        finished = true; // an error line instead of values: the request is over
        if (order != ORDER_NONE) {
          // it ends the client's reply: after every value, once, and with no END after it
          if (groupErrored(e)) forward = false;
          groupFailed(e);
          pieceId = orderedId(cId, ORDER_ERROR);
        }
        done = childDone(e, false);
      }
    } else {
      // A value too large for one datagram comes as one message with its END at the tail of
      // the last datagram: the request is over once every datagram of it has been seen.
      const seen = load<u16>(e + N_SEEN) + 1;
      store<u16>(e + N_SEEN, seen);
      if (frameSeq(slot) + 1 == frameTotal(slot)) {
        if (end - p >= 5 && startsWith(end - 5, end, "END\r\n")) store<u8>(e + N_ENDED, 1);
        else store<u16>(e + N_SEEN, 0); // a VALUE alone: its END follows in a message of its own
      }
      if (load<u8>(e + N_ENDED) != 0 && <u32>load<u16>(e + N_SEEN) >= frameTotal(slot)) {
        finished = true;
        done = childDone(e, false);
      }
      // the END is cut wherever it arrives when the group sends its own, or the reply is put in
      // order and its END goes alone
      if (
        frameSeq(slot) + 1 == frameTotal(slot) &&
        load<u8>(e + N_ENDED) != 0 &&
        ((load<u32>(e + N_GROUP) != NAT_NONE && !groupPassesEnd(e)) || order != ORDER_NONE)
      )
        sendLen -= 5;
      endAlone = finished && order != ORDER_NONE && (done & DONE_PASS_END) != 0;
    }
  } else {
    // a moved key's miss at its new owner (mg, a binary get): the read goes on to its old owner
    if (kind == NK_OTHER && frameTotal(slot) == 1 && missFallsBack(id, b, p, end)) return;
    const seen = load<u16>(e + N_SEEN) + 1;
    store<u16>(e + N_SEEN, seen);
    if (<u32>seen >= frameTotal(slot) || frameSeq(slot) + 1 == frameTotal(slot)) {
      finished = true;
      done = childDone(e, false);
      if (kind == NK_FLUSH) {
        // one OK goes back once every backend said OK (context.ts): each backend's own is not
        if (!startsWith(p, end, "OK\r\n")) groupFailed(e);
        forward = false;
      }
      if (kind == NK_WRITE || kind == NK_META_WRITE) {
        const h = load<u64>(e + N_HASH);
        const v = load<u64>(e + N_STAMP);
        replicaWriteDone(h, v, writeEnd(h, v, replyOk(kind, p, end), (flags & NF_STAGED) != 0));
      }
      if ((flags & NF_NOREPLY) != 0) forward = false;
      if ((flags & NF_QUIET) != 0 && quietSwallows(flags, p, end)) forward = false;
    }
  }
  if (forward) forwardReply(slot, sendLen, cAddr, cPort, pieceId);
  if (endAlone) replyText("END\r\n", cAddr, cPort, orderedId(cId, ORDER_END));
  sendAfter(done, cAddr, cPort, cId);
  if (finished) {
    backendDone(b, false);
    natFree(id);
  }
}

// The end of the "VALUE <key> <flags> <bytes> [<cas>]\r\n<data>\r\n" block at q, or 0.
function valueBlockEnd(q: usize, end: usize): usize {
  const newline = findNewline(q, end);
  if (newline == NOT_FOUND) return 0;
  const lineEnd = contentEnd(q, newline);
  let t = skipSpaces(q + 6, lineEnd); // key
  t = skipSpaces(tokenEnd(t, lineEnd), lineEnd); // flags
  t = skipSpaces(tokenEnd(t, lineEnd), lineEnd); // bytes
  const bytes = parseDecimal(t, tokenEnd(t, lineEnd));
  if (bytes < 0) return 0;
  if (!fits(newline + 1, <u64>bytes + 2, end)) return 0;
  const dataEnd = newline + 1 + <usize>bytes;
  if (load<u16>(dataEnd) != 0x0a0d) return 0;
  return dataEnd + 2;
}

// "VA <size> <flags>*\r\n<data>\r\n" answering kvlb's "mg <key> v f t k": the value goes into
// the caches as "VALUE <key> <flags> <size>\r\n<data>\r\n", servable until its TTL says.
function fillFromMg(e: usize, p: usize, end: usize): void {
  const va = work() + W_VA;
  if (!readVa(p, end, va)) return; // EN: nothing to keep
  const flags = <usize>load<u32>(va + VA_FLAGS);
  const key = <usize>load<u32>(va + VA_KEY);
  const keyLen = <usize>load<u32>(va + VA_KEY_END) - key;
  if (key == 0 || flags == 0 || !keyValid(key, keyLen) || keyHash(key, keyLen) != load<u64>(e + N_HASH)) return;
  const expiry = expiryAfter(load<u64>(e + N_TIME), load<i64>(va + VA_TTL));
  if (expiry == NOT_CACHEABLE) return;
  const flagsLen = <usize>load<u32>(va + VA_FLAGS_END) - flags;
  const sizeAt = <usize>load<u32>(va + VA_SIZE_AT);
  const sizeLen = <usize>load<u32>(va + VA_SIZE_END) - sizeAt;
  const size = <usize>load<u32>(va + VA_SIZE);
  const data = <usize>load<u32>(va + VA_DATA);
  const block = valueBlock(key, keyLen, flags, flagsLen, sizeAt, sizeLen, data, size);
  if (block == 0) return;
  const blockLen = valueBlockLen(keyLen, flagsLen, sizeLen, size);
  const b = <u32>load<u8>(e + N_BACKEND);
  fillFromRead(load<u64>(e + N_HASH), key, keyLen, load<u64>(e + N_STAMP), block, blockLen, expiry, b);
}

// Whether a write's answer says it took effect.
function replyOk(kind: u8, p: usize, end: usize): bool {
  if (p < end && load<u8>(p) == 0x81) return end - p >= 8 && load<u16>(p + 6) == 0; // binary: status 0
  if (kind == NK_META_WRITE) return startsWith(p, end, "HD") || startsWith(p, end, "OK");
  if (startsWith(p, end, "STORED") || startsWith(p, end, "DELETED") || startsWith(p, end, "TOUCHED")) return true;
  return p < end && load<u8>(p) >= 0x30 && load<u8>(p) <= 0x39; // incr/decr: the new value
}

// What a meta "q" hides: EN for mg; HD (and NF for md) for the writes. What a binary quiet
// opcode hides: a miss for a read, success for a write.
function quietSwallows(flags: u8, p: usize, end: usize): bool {
  if ((flags & NF_BINARY) != 0) {
    if (end - p < BIN_HEADER || load<u8>(p) != BIN_RESPONSE) return false;
    return binStatus(p) == ((flags & NF_MG) != 0 ? BS_KEY_NOT_FOUND : BS_OK);
  }
  if (end - p < 2) return false;
  const code = tokenEnd(p, min(end, p + 3));
  if ((flags & NF_MG) != 0) return isWord(p, code, "EN") || startsWith(p, end, "EN\r");
  return startsWith(p, end, "HD") || startsWith(p, end, "NF");
}
