// Where one reply ends in a memcached backend's TCP stream. kvlb sends most requests followed by
// a marker whose answer memcached always sends and never sends for anything else kvlb forwards
// (the core answers clients' own mn and noop itself): "mn\r\n" (answered "MN\r\n") after an
// ASCII or meta request, a binary noop with kvlb's opaque after a binary one. A reply is
// everything before the marker's answer. Values are skipped by their declared lengths, so a
// value holding "MN\r\n" cannot end a reply early.
//
// A request that is one get, gets, gat or gats line goes without a marker: its reply ends itself,
// at END or at an error line. memcached writes every reply with a send of its own, so a marker
// doubled the segments a get cost both sides. Any other line there means the stream is not what
// kvlb thinks it is, and the connection is closed.
//
// For the same reason, gets of one key each that go out on a connection in the same burst are
// merged into one line, "get k1 k2 ... kn": memcached answers them with one send, and each
// request's reply is cut from it by its key (GetPartEnd).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace kvlb {

constexpr uint32_t kMarkerOpaque = 0x6b766c62;  // "kvlb"
constexpr char kAsciiMarker[] = "mn\r\n";
constexpr size_t kAsciiMarkerLen = 4;
constexpr size_t kAsciiAnswerLen = 4;  // "MN\r\n"
constexpr size_t kBinHeader = 24;

// The binary noop kvlb sends after a binary request.
inline void BinaryMarker(uint8_t out[kBinHeader]) {
  memset(out, 0, kBinHeader);
  out[0] = 0x80;
  out[1] = 0x0a;
  out[12] = uint8_t(kMarkerOpaque >> 24);
  out[13] = uint8_t(kMarkerOpaque >> 16);
  out[14] = uint8_t(kMarkerOpaque >> 8);
  out[15] = uint8_t(kMarkerOpaque);
}

struct ReplyEnd {
  enum Kind { kMore, kWhole, kBad } kind = kMore;
  size_t reply = 0;  // the reply's bytes, before the marker's answer
  size_t used = 0;   // the reply and the marker's answer
};

// Reads a declared length: digits only, at most `most`; -1 otherwise.
inline int64_t ReadLength(const uint8_t *p, const uint8_t *end, uint64_t most) {
  if (p == end) return -1;
  uint64_t v = 0;
  for (; p < end; p++) {
    if (*p < '0' || *p > '9') return -1;
    v = v * 10 + (*p - '0');
    if (v > most) return -1;
  }
  return int64_t(v);
}

// The n-th space-separated token of [p, end): its bounds in *from, *to; false if absent.
inline bool Token(const uint8_t *p, const uint8_t *end, int n, const uint8_t **from, const uint8_t **to) {
  for (int i = 0;; i++) {
    while (p < end && *p == ' ') p++;
    const uint8_t *s = p;
    while (p < end && *p != ' ') p++;
    if (s == p) return false;
    if (i == n) {
      *from = s;
      *to = p;
      return true;
    }
  }
}

// An ASCII or meta reply followed by "MN\r\n". `most` bounds the whole reply.
inline ReplyEnd AsciiReplyEnd(const uint8_t *p, size_t n, size_t most) {
  size_t at = 0;
  for (;;) {
    if (at > most) return {ReplyEnd::kBad, 0, 0};
    const uint8_t *nl = static_cast<const uint8_t *>(memchr(p + at, '\n', n - at));
    if (!nl) return {n - at > 4096 ? ReplyEnd::kBad : ReplyEnd::kMore, 0, 0};
    size_t lineEnd = size_t(nl - p) + 1;  // past the newline
    const uint8_t *line = p + at;
    const uint8_t *content = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
    if (lineEnd - at == kAsciiAnswerLen && memcmp(line, "MN\r\n", 4) == 0) return {ReplyEnd::kWhole, at, lineEnd};
    int sizeToken = -1;
    if (content - line > 6 && memcmp(line, "VALUE ", 6) == 0) sizeToken = 3;  // VALUE <key> <flags> <bytes>
    if (content - line > 3 && memcmp(line, "VA ", 3) == 0) sizeToken = 1;     // VA <size> <flags>*
    if (sizeToken < 0) {
      at = lineEnd;
      continue;
    }
    const uint8_t *from, *to;
    if (!Token(line, content, sizeToken, &from, &to)) return {ReplyEnd::kBad, 0, 0};
    int64_t bytes = ReadLength(from, to, most);
    if (bytes < 0) return {ReplyEnd::kBad, 0, 0};
    size_t dataEnd = lineEnd + size_t(bytes) + 2;
    if (dataEnd > n) return {dataEnd > most + kAsciiAnswerLen ? ReplyEnd::kBad : ReplyEnd::kMore, 0, 0};
    if (p[dataEnd - 2] != '\r' || p[dataEnd - 1] != '\n') return {ReplyEnd::kBad, 0, 0};
    at = dataEnd;
  }
}

// Whether the line [line, line + len) is memcached's answer of an error, which ends a reply.
inline bool IsErrorLine(const uint8_t *line, size_t len) {
  return (len >= 7 && memcmp(line, "ERROR\r\n", 7) == 0) || (len > 13 && memcmp(line, "CLIENT_ERROR ", 13) == 0) ||
         (len > 13 && memcmp(line, "SERVER_ERROR ", 13) == 0);
}

// Whether [p, p + n) is one retrieval line (get, gets, gat or gats), whose reply ends itself.
inline bool IsRetrievalLine(const uint8_t *p, size_t n) {
  if (n < 7 || p[n - 2] != '\r' || p[n - 1] != '\n') return false;
  bool verb = memcmp(p, "get ", 4) == 0 || memcmp(p, "gets ", 5) == 0 || memcmp(p, "gat ", 4) == 0 ||
              memcmp(p, "gats ", 5) == 0;
  return verb && memchr(p, '\n', n - 1) == nullptr;
}

// The reply to one retrieval line: VALUE blocks, then END; or one error line.
inline ReplyEnd RetrievalReplyEnd(const uint8_t *p, size_t n, size_t most) {
  size_t at = 0;
  for (;;) {
    if (at > most) return {ReplyEnd::kBad, 0, 0};
    const uint8_t *nl = static_cast<const uint8_t *>(memchr(p + at, '\n', n - at));
    if (!nl) return {n - at > 4096 ? ReplyEnd::kBad : ReplyEnd::kMore, 0, 0};
    size_t lineEnd = size_t(nl - p) + 1;
    const uint8_t *line = p + at;
    size_t lineLen = lineEnd - at;
    if (lineLen == 5 && memcmp(line, "END\r\n", 5) == 0) return {ReplyEnd::kWhole, lineEnd, lineEnd};
    if (IsErrorLine(line, lineLen)) return {ReplyEnd::kWhole, lineEnd, lineEnd};
    if (!(lineLen > 8 && memcmp(line, "VALUE ", 6) == 0)) return {ReplyEnd::kBad, 0, 0};
    const uint8_t *content = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
    const uint8_t *from, *to;
    if (!Token(line, content, 3, &from, &to)) return {ReplyEnd::kBad, 0, 0};
    int64_t bytes = ReadLength(from, to, most);
    if (bytes < 0) return {ReplyEnd::kBad, 0, 0};
    size_t dataEnd = lineEnd + size_t(bytes) + 2;
    if (dataEnd > n) return {dataEnd > most ? ReplyEnd::kBad : ReplyEnd::kMore, 0, 0};
    if (p[dataEnd - 2] != '\r' || p[dataEnd - 1] != '\n') return {ReplyEnd::kBad, 0, 0};
    at = dataEnd;
  }
}

// Whether [p, p + n) is a get or gets of one key: its verb's length (with the space) in *verb,
// and its key in [*key, *key + *keyLen).
// [p, p + n) must be a retrieval line (IsRetrievalLine).
inline bool SingleKeyGet(const uint8_t *p, size_t n, size_t *verb, const uint8_t **key, size_t *keyLen) {
  size_t v = memcmp(p, "get ", 4) == 0 ? 4 : memcmp(p, "gets ", 5) == 0 ? 5 : 0;
  if (v == 0 || n - 2 <= v || n - 2 - v > 250 || memchr(p + v, ' ', n - 2 - v) != nullptr) return false;
  *verb = v;
  *key = p + v;
  *keyLen = n - 2 - v;
  return true;
}

// One request's part of the reply to a merged "get k1 k2 ... kn": the VALUE block of its key if
// that comes next (memcached answers the hits in the order of the keys), else a miss. The last
// part also takes the END. An error line answers every part from there on; the last takes it.
struct GetPart {
  enum Kind { kMore, kHit, kMiss, kError, kBad } kind = kMore;
  size_t reply = 0;  // the VALUE block or the error line, from the start
  size_t used = 0;   // what this part takes from the stream
};

inline GetPart GetPartEnd(const uint8_t *p, size_t n, size_t most, const uint8_t *key, size_t keyLen, bool last) {
  const uint8_t *nl = static_cast<const uint8_t *>(memchr(p, '\n', n));
  if (!nl) return {n > 4096 ? GetPart::kBad : GetPart::kMore, 0, 0};
  size_t lineEnd = size_t(nl - p) + 1;
  if (lineEnd == 5 && memcmp(p, "END\r\n", 5) == 0) return {GetPart::kMiss, 0, last ? lineEnd : 0};
  if (IsErrorLine(p, lineEnd)) return {GetPart::kError, lineEnd, last ? lineEnd : 0};
  if (!(lineEnd > 8 && memcmp(p, "VALUE ", 6) == 0)) return {GetPart::kBad, 0, 0};
  const uint8_t *content = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
  const uint8_t *from, *to;
  if (!Token(p, content, 1, &from, &to)) return {GetPart::kBad, 0, 0};
  bool mine = size_t(to - from) == keyLen && memcmp(from, key, keyLen) == 0;
  if (!mine) return {last ? GetPart::kBad : GetPart::kMiss, 0, 0};  // a later key's, or nobody's
  if (!Token(p, content, 3, &from, &to)) return {GetPart::kBad, 0, 0};
  int64_t bytes = ReadLength(from, to, most);
  if (bytes < 0) return {GetPart::kBad, 0, 0};
  size_t dataEnd = lineEnd + size_t(bytes) + 2;
  size_t need = last ? dataEnd + 5 : dataEnd;
  if (need > n) return {dataEnd > most ? GetPart::kBad : GetPart::kMore, 0, 0};
  if (p[dataEnd - 2] != '\r' || p[dataEnd - 1] != '\n') return {GetPart::kBad, 0, 0};
  if (last && memcmp(p + dataEnd, "END\r\n", 5) != 0) return {GetPart::kBad, 0, 0};
  return {GetPart::kHit, dataEnd, need};
}

// Binary responses followed by the noop that answers kvlb's marker.
inline ReplyEnd BinaryReplyEnd(const uint8_t *p, size_t n, size_t most) {
  size_t at = 0;
  for (;;) {
    if (n - at < kBinHeader) return {ReplyEnd::kMore, 0, 0};
    const uint8_t *h = p + at;
    if (h[0] != 0x81) return {ReplyEnd::kBad, 0, 0};
    uint32_t body = uint32_t(h[8]) << 24 | uint32_t(h[9]) << 16 | uint32_t(h[10]) << 8 | h[11];
    uint32_t opaque = uint32_t(h[12]) << 24 | uint32_t(h[13]) << 16 | uint32_t(h[14]) << 8 | h[15];
    size_t next = at + kBinHeader + body;
    if (body > most || next > most + kBinHeader) return {ReplyEnd::kBad, 0, 0};
    if (next > n) return {ReplyEnd::kMore, 0, 0};
    if (h[1] == 0x0a && opaque == kMarkerOpaque && body == 0) return {ReplyEnd::kWhole, at, next};
    at = next;
  }
}

}  // namespace kvlb
