// Backends over TCP: see backend_conns.h.
#include "backend_conns.h"

#include <arpa/inet.h>
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event_tags.h"
#include "reply_frame.h"

namespace kvlb {

namespace {

constexpr uint32_t kBackendKind = 4;  // DK_BACKEND (assembly/abi/abi.ts)
constexpr uint32_t kFrameHeader = 8;
constexpr uint64_t kFirstBackoffNs = 50ull * 1000000ull;
constexpr uint64_t kLastBackoffNs = 5000ull * 1000000ull;
constexpr size_t kMaxUnwritten = 16u << 20;  // per connection: past it, requests are not sent
constexpr size_t kReadChunk = 256 * 1024;
// A merged get line stays well under memcached's 2,048-byte line limit for other commands.
constexpr uint32_t kMaxMergedKeys = 64;
constexpr size_t kMaxMergedLine = 1536;
constexpr size_t kKeysCompactBytes = 64 * 1024;

}  // namespace

BackendConns::~BackendConns() { Close(); }

void BackendConns::Open(int epoll, uint8_t *memory, uint32_t area, uint32_t areaBytes) {
  epoll_ = epoll;
  memory_ = memory;
  area_ = area;
  areaBytes_ = areaBytes;
}

void BackendConns::Close() {
  for (auto &b : backends_)
    for (auto &c : b.conns)
      if (c.fd >= 0) {
        epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
      }
  backends_.clear();
  epoll_ = -1;
}

void BackendConns::Set(const std::vector<uint32_t> &pairs, uint32_t pool, uint64_t now) {
  if (pool == 0) pool = 1;
  // a backend that stays keeps its connections, and the requests in flight on them (a reload)
  std::vector<Backend> old;
  old.swap(backends_);
  std::vector<bool> fresh;
  for (size_t i = 0; i + 1 < pairs.size(); i += 2) {
    uint32_t addr = pairs[i];
    uint16_t port = uint16_t(pairs[i + 1]);
    auto same = std::find_if(old.begin(), old.end(), [&](const Backend &o) {
      return o.addr == addr && o.port == port && o.conns.size() == 2 * pool;
    });
    if (same != old.end()) {
      backends_.push_back(std::move(*same));
      old.erase(same);
      fresh.push_back(false);
    } else {
      backends_.push_back(Backend{addr, port, std::vector<Conn>(2 * pool)});
      fresh.push_back(true);
    }
  }
  for (auto &b : old)
    for (auto &c : b.conns)
      if (c.fd >= 0) {
        counters_.lost += c.waiting.size();
        epoll_ctl(epoll_, EPOLL_CTL_DEL, c.fd, nullptr);
        ::close(c.fd);
      }
  // the epoll tags name a connection by its backend's place, which may have moved
  for (uint32_t b = 0; b < backends_.size(); b++) {
    for (uint32_t c = 0; c < 2 * pool; c++) {
      if (fresh[b]) {
        Connect(b, c, now);
        continue;
      }
      Conn &conn = backends_[b].conns[c];
      if (conn.fd >= 0) Control(EPOLL_CTL_MOD, conn.fd, conn.mask, b, c);
    }
  }
}

bool BackendConns::Has(uint32_t addr, uint16_t port) const {
  for (const auto &b : backends_)
    if (b.addr == addr && b.port == port) return true;
  return false;
}

uint32_t BackendConns::Connected() const {
  uint32_t n = 0;
  for (const auto &b : backends_)
    for (const auto &c : b.conns) n += c.fd >= 0 && !c.connecting;
  return n;
}

void BackendConns::Connect(uint32_t b, uint32_t c, uint64_t now) {
  Conn &conn = backends_[b].conns[c];
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    conn.retryAt = now + kFirstBackoffNs;
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = backends_[b].addr;
  sa.sin_port = htons(backends_[b].port);
  conn.fd = fd;
  conn.connecting = true;
  conn.mask = 0;
  Control(EPOLL_CTL_ADD, fd, 0, b, c);
  if (connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0 && errno != EINPROGRESS) {
    Fail(b, c, now, false);
    return;
  }
  Watch(b, c);
}

void BackendConns::Fail(uint32_t b, uint32_t c, uint64_t now, bool bad) {
  Conn &conn = backends_[b].conns[c];
  if (conn.fd >= 0) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, conn.fd, nullptr);
    ::close(conn.fd);
  }
  counters_.failures++;
  if (bad) counters_.badReplies++;
  // the requests waiting end as lost datagrams do: by their timeout in the core
  counters_.lost += conn.waiting.size();
  uint64_t backoff = conn.backoffNs == 0 ? kFirstBackoffNs : std::min(conn.backoffNs * 2, kLastBackoffNs);
  conn = Conn{};
  conn.backoffNs = backoff;
  conn.retryAt = now + backoff;
}

void BackendConns::Watch(uint32_t b, uint32_t c) {
  Conn &conn = backends_[b].conns[c];
  if (conn.fd < 0) return;
  bool full = conn.in.size() >= size_t(areaBytes_) + kReadChunk;
  uint32_t mask = (full ? 0u : uint32_t(EPOLLIN | EPOLLRDHUP)) |
                  (conn.connecting || conn.outAt < conn.out.size() ? uint32_t(EPOLLOUT) : 0u);
  if (mask == conn.mask) return;
  Control(EPOLL_CTL_MOD, conn.fd, mask, b, c);
  conn.mask = mask;
}

void BackendConns::Control(int op, int fd, uint32_t events, uint32_t b, uint32_t c) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = EventTag(EventOwner::kBackendConns, Tag(b, c));
  epoll_ctl(epoll_, op, fd, &ev);
}

void BackendConns::Out(uint32_t addr, uint16_t port, const uint8_t *datagram, uint32_t len, uint64_t now) {
  (void)now;
  if (len <= kFrameHeader) return;
  uint32_t b = 0;
  while (b < backends_.size() && !(backends_[b].addr == addr && backends_[b].port == port)) b++;
  if (b == backends_.size()) return;
  const uint8_t *request = datagram + kFrameHeader;
  uint32_t size = len - kFrameHeader;
  bool binary = request[0] == 0x80;
  // memcached reads a connection as ASCII or binary by its first byte, for good: each protocol
  // has its half of the pool
  auto &conns = backends_[b].conns;
  uint32_t pool = uint32_t(conns.size()) / 2;
  uint32_t base = binary ? pool : 0;
  uint32_t first = (uint32_t(datagram[6]) << 8 | datagram[7]) % pool;
  uint32_t c = first;
  // the key's own connection, or another one open while it is down
  while (conns[base + c].fd < 0) {
    c = (c + 1) % pool;
    if (c == first) {
      counters_.unsent++;
      return;
    }
  }
  Conn &conn = conns[base + c];
  if (conn.out.size() - conn.outAt > kMaxUnwritten) {
    counters_.unsent++;
    return;
  }
  uint16_t id = uint16_t(uint32_t(datagram[0]) << 8 | datagram[1]);
  bool retrieval = !binary && IsRetrievalLine(request, size);
  if (retrieval && JoinGet(conn, id, request, size)) return;
  conn.openLine = std::string::npos;
  conn.out.append(reinterpret_cast<const char *>(request), size);
  Framing framing = binary ? Framing::kBinaryMarker : retrieval ? Framing::kRetrieval : Framing::kAsciiMarker;
  if (framing == Framing::kBinaryMarker) {
    uint8_t marker[kBinHeader];
    BinaryMarker(marker);
    conn.out.append(reinterpret_cast<const char *>(marker), kBinHeader);
  } else if (framing == Framing::kAsciiMarker) {
    conn.out.append(kAsciiMarker, kAsciiMarkerLen);
  }
  conn.waiting.push_back(Waiting{id, framing});
}

// A get or gets of one key joins the line of the same verb just before it in `out`, or opens one.
bool BackendConns::JoinGet(Conn &conn, uint16_t id, const uint8_t *request, uint32_t size) {
  size_t verb;
  const uint8_t *key;
  size_t keyLen;
  if (!SingleKeyGet(request, size, &verb, &key, &keyLen)) return false;
  bool joins = conn.openLine != std::string::npos && conn.openVerb == verb && conn.openKeys < kMaxMergedKeys &&
               conn.out.size() - conn.openLine + keyLen + 1 <= kMaxMergedLine;
  if (joins) {
    conn.out.resize(conn.out.size() - 2);  // the line's \r\n, after which the key goes
    conn.out.push_back(' ');
    conn.out.append(reinterpret_cast<const char *>(key), keyLen);
    conn.out.append("\r\n", 2);
    conn.openKeys++;
    conn.waiting.back().last = false;
  } else {
    conn.openLine = conn.out.size();
    conn.openVerb = verb;
    conn.openKeys = 1;
    conn.out.append(reinterpret_cast<const char *>(request), size);
  }
  if (conn.waiting.empty()) {
    conn.keys.clear();  // nothing refers to the keys before
    conn.keysBase = conn.keysDone = 0;
  } else if (conn.keysDone - conn.keysBase > kKeysCompactBytes) {
    conn.keys.erase(0, size_t(conn.keysDone - conn.keysBase));  // the keys of requests answered
    conn.keysBase = conn.keysDone;
  }
  Waiting w{id, Framing::kGetPart};
  w.keyAt = conn.keysBase + conn.keys.size();
  w.keyLen = uint8_t(keyLen);
  conn.keys.append(reinterpret_cast<const char *>(key), keyLen);
  conn.waiting.push_back(w);
  return true;
}

void BackendConns::Flush(uint64_t now, SendBatch *batch) {
  for (uint32_t b = 0; b < backends_.size(); b++) {
    for (uint32_t c = 0; c < backends_[b].conns.size(); c++) {
      Conn &conn = backends_[b].conns[c];
      if (conn.fd < 0) {
        if (now >= conn.retryAt) Connect(b, c, now);
        continue;
      }
      if (!conn.connecting && conn.outAt < conn.out.size()) {
        if (batch != nullptr) {
          conn.openLine = std::string::npos;  // what goes to the socket is not changed after
          batch->Add(conn.fd, conn.out.data() + conn.outAt, conn.out.size() - conn.outAt,
                     EventTag(EventOwner::kBackendConns, Tag(b, c)));
          continue;  // watched once Sent hears how it went
        }
        Write(b, c, now);
      }
      if (conn.fd >= 0) Watch(b, c);
    }
  }
}

void BackendConns::Sent(uint32_t tag, int64_t result, uint64_t now) {
  uint32_t b = tag >> 16, c = tag & 0xffff;
  if (b >= backends_.size() || c >= backends_[b].conns.size() || backends_[b].conns[c].fd < 0) return;
  Wrote(b, c, result, now);
  if (backends_[b].conns[c].fd >= 0) Watch(b, c);
}

// Applies one write's result (bytes, or -errno); true when the connection may take more now.
bool BackendConns::Wrote(uint32_t b, uint32_t c, int64_t result, uint64_t now) {
  Conn &conn = backends_[b].conns[c];
  if (result > 0) {
    conn.outAt += size_t(result);
    counters_.bytesOut += uint64_t(result);
    if (conn.outAt < conn.out.size()) return true;
    conn.out.clear();
    conn.outAt = 0;
    return false;
  }
  if (result == -EINTR) return true;
  if (result != -EAGAIN && result != -EWOULDBLOCK) Fail(b, c, now, false);  // 0: the backend closed
  return false;
}

void BackendConns::Write(uint32_t b, uint32_t c, uint64_t now) {
  Conn &conn = backends_[b].conns[c];
  conn.openLine = std::string::npos;  // what goes to the socket is not changed after
  while (conn.outAt < conn.out.size()) {
    ssize_t n = send(conn.fd, conn.out.data() + conn.outAt, conn.out.size() - conn.outAt, MSG_NOSIGNAL);
    if (!Wrote(b, c, n < 0 ? -errno : n, now)) return;
  }
}

void BackendConns::Read(uint32_t b, uint32_t c, uint64_t now) {
  Conn &conn = backends_[b].conns[c];
  size_t cap = size_t(areaBytes_) + kReadChunk;
  if (scratch_.size() < kReadChunk) scratch_.resize(kReadChunk);
  while (conn.in.size() < cap) {
    // into a buffer made once: growing conn.in by a chunk to read into would zero the chunk
    // every time, which cost more than the rest of the read
    ssize_t n = recv(conn.fd, scratch_.data(), kReadChunk, 0);
    if (n > 0) {
      conn.in.append(scratch_.data(), size_t(n));
      counters_.bytesIn += uint64_t(n);
      conn.parse = true;
      if (size_t(n) < kReadChunk) return;  // the socket is empty: epoll says when more comes
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n < 0 && errno == EINTR) continue;
    Fail(b, c, now, false);  // the backend closed the connection, or it broke
    return;
  }
}

// Where the reply to the oldest request waiting on `conn` ends in [p, p + n).
BackendConns::Cut BackendConns::CutReply(const Conn &conn, const Waiting &w, const uint8_t *p, size_t n,
                                         size_t most) const {
  if (w.framing == Framing::kGetPart) {
    const auto *key = reinterpret_cast<const uint8_t *>(conn.keys.data()) + (w.keyAt - conn.keysBase);
    GetPart g = GetPartEnd(p, n, most, key, w.keyLen, w.last);
    switch (g.kind) {
      case GetPart::kMore:
        return {ReplyEnd::kMore};
      case GetPart::kBad:
        return {ReplyEnd::kBad};
      case GetPart::kHit:
        return {ReplyEnd::kWhole, g.reply, true, g.used};
      case GetPart::kMiss:
        return {ReplyEnd::kWhole, 0, true, g.used};
      case GetPart::kError:
        return {ReplyEnd::kWhole, g.reply, false, g.used};
    }
  }
  ReplyEnd e = w.framing == Framing::kBinaryMarker ? BinaryReplyEnd(p, n, most)
               : w.framing == Framing::kRetrieval  ? RetrievalReplyEnd(p, n, most)
                                                   : AsciiReplyEnd(p, n, most);
  return {e.kind, e.reply, false, e.used};
}

void BackendConns::Event(uint32_t tag, uint32_t events, uint64_t now) {
  uint32_t b = tag >> 16, c = tag & 0xffff;
  if (b >= backends_.size() || c >= backends_[b].conns.size()) return;
  Conn &conn = backends_[b].conns[c];
  if (conn.fd < 0) return;
  if (conn.connecting && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t errLen = sizeof(err);
    getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &err, &errLen);
    if (err != 0) {
      Fail(b, c, now, false);
      return;
    }
    conn.connecting = false;
    counters_.connects++;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) Read(b, c, now);
  if (conn.fd >= 0 && !conn.connecting && conn.outAt < conn.out.size()) Write(b, c, now);
  if (conn.fd >= 0) Watch(b, c);
}

uint32_t BackendConns::Collect(BackendDesc *desc, uint32_t room, uint64_t now) {
  if (!On()) return 0;
  // lay each whole reply into the area behind a frame header with its request's id
  uint32_t used = 0, n = 0;
  for (uint32_t b = 0; b < backends_.size(); b++) {
    for (uint32_t c = 0; c < backends_[b].conns.size(); c++) {
      Conn &conn = backends_[b].conns[c];
      if (conn.fd < 0 || !conn.parse) continue;
      size_t at = 0;
      bool bad = false, later = false;
      while (!conn.waiting.empty() && at < conn.in.size()) {
        if (n == room) {
          later = true;
          break;
        }
        const auto *p = reinterpret_cast<const uint8_t *>(conn.in.data()) + at;
        size_t have = conn.in.size() - at;
        size_t most = areaBytes_ - kFrameHeader;
        const Waiting &w = conn.waiting.front();
        Cut e = CutReply(conn, w, p, have, most);
        if (e.kind == ReplyEnd::kBad) {
          bad = true;
          break;
        }
        if (e.kind == ReplyEnd::kMore) break;
        size_t reply = e.copy + (e.end ? 5 : 0);
        size_t need = (kFrameHeader + reply + 7) & ~size_t(7);
        if (need > areaBytes_) {
          bad = true;
          break;
        }
        if (used + need > areaBytes_) {
          later = true;  // the next burst has room for it
          break;
        }
        uint8_t *h = memory_ + area_ + used;
        uint16_t id = conn.waiting.front().id;
        const uint8_t header[kFrameHeader] = {uint8_t(id >> 8), uint8_t(id), 0, 0, 0, 1, 0, 0};
        memcpy(h, header, kFrameHeader);
        memcpy(h + kFrameHeader, p, e.copy);
        if (e.end) memcpy(h + kFrameHeader + e.copy, "END\r\n", 5);
        desc[n++] = BackendDesc{area_ + used, uint32_t(kFrameHeader + reply), backends_[b].addr,
                                kBackendKind | (uint32_t(backends_[b].port) << 16)};
        used += uint32_t(need);
        at += e.used;
        if (w.framing == Framing::kGetPart) conn.keysDone = w.keyAt + w.keyLen;
        conn.waiting.pop_front();
        conn.backoffNs = 0;
        counters_.replies++;
      }
      if (!bad && conn.waiting.empty() && at < conn.in.size()) bad = true;  // bytes no request asked for
      if (bad) {
        Fail(b, c, now, true);
        continue;
      }
      conn.in.erase(0, at);
      conn.parse = later;
      Watch(b, c);
    }
  }
  return n;
}

}  // namespace kvlb
