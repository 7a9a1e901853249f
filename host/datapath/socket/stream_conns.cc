// Client connections over TCP: see stream_conns.h.
#include "stream_conns.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "event_tags.h"

namespace kvlb {

namespace {

// The core's ABI (assembly/abi/abi.ts).
constexpr uint32_t kStreamKind = 5;       // DK_STREAM
constexpr uint32_t kStreamAdmin = 0x200;  // RXF_ADMIN: the connection's peer is in admin.clients

// Whether addr (as sin_addr holds it) is in one of the (network, mask) pairs.
static bool InPairs(uint32_t addr, const std::vector<uint32_t> &pairs) {
  for (size_t i = 0; i + 1 < pairs.size(); i += 2)
    if ((addr & pairs[i + 1]) == (pairs[i] & pairs[i + 1])) return true;
  return false;
}
constexpr uint32_t kOutStream = 2;     // OUT_STREAM
constexpr uint32_t kOutDone = 3;       // OUT_STREAM_DONE
constexpr uint32_t kClose = 0x10;      // RF_CLOSE
constexpr uint32_t kAgain = 0x20;      // RF_AGAIN
constexpr uint32_t kRefused = 0x8000;  // RF_ERROR
constexpr uint32_t kFrameHeader = 8;
constexpr uint32_t kListenTag = 0;  // connection ids start at 1
constexpr uint64_t kSweepNs = 1000000000ull;

}  // namespace

StreamConns::~StreamConns() { Close(); }

int StreamConns::Open(int epoll, const std::string &addr, int port, bool shared, bool freebind, uint8_t *memory,
                      uint32_t area, uint32_t areaBytes, const StreamLimits &limits) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) return EINVAL;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (shared) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (freebind) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
  if (bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0 || listen(fd, 1024) < 0) {
    int err = errno;
    ::close(fd);
    return err;
  }
  epoll_ = epoll;
  if (Control(EPOLL_CTL_ADD, fd, EPOLLIN, kListenTag) < 0) {
    int err = errno;
    ::close(fd);
    epoll_ = -1;
    return err;
  }
  listen_ = fd;
  memory_ = memory;
  area_ = area;
  areaBytes_ = areaBytes;
  limits_ = limits;
  return 0;
}

int StreamConns::Port() const {
  sockaddr_in sa{};
  socklen_t len = sizeof(sa);
  if (listen_ < 0 || getsockname(listen_, reinterpret_cast<sockaddr *>(&sa), &len) < 0) return 0;
  return ntohs(sa.sin_port);
}

void StreamConns::Close() {
  for (auto &kv : conns_) ::close(kv.second.fd);
  conns_.clear();
  if (listen_ >= 0) {
    epoll_ctl(epoll_, EPOLL_CTL_DEL, listen_, nullptr);
    ::close(listen_);
  }
  listen_ = epoll_ = -1;
}

bool StreamConns::Reading(const Conn &c) const {
  return !c.peerGone && !c.closing && c.in.size() < limits_.inBytes && c.outBytes < limits_.outBytes &&
         c.replies.size() < limits_.inFlight;
}

void StreamConns::Watch(uint32_t id, Conn &c) {
  uint32_t mask = (Reading(c) ? uint32_t(EPOLLIN | EPOLLRDHUP) : 0u) | (c.wantWrite ? uint32_t(EPOLLOUT) : 0u);
  if (mask == c.mask) return;
  Control(EPOLL_CTL_MOD, c.fd, mask, id);
  c.mask = mask;
}

int StreamConns::Control(int op, int fd, uint32_t events, uint32_t id) {
  epoll_event ev{};
  ev.events = events;
  ev.data.u64 = EventTag(EventOwner::kStreams, id);
  return epoll_ctl(epoll_, op, fd, &ev);
}

void StreamConns::Accept(uint64_t now) {
  for (;;) {
    sockaddr_in peer{};
    socklen_t peerLen = sizeof(peer);
    int fd = accept4(listen_, reinterpret_cast<sockaddr *>(&peer), &peerLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (!allow_.empty() && !InPairs(peer.sin_addr.s_addr, allow_)) {
      ::close(fd);
      counters_.notAllowed++;
      continue;
    }
    if (conns_.size() >= limits_.maxConnections) {
      ::close(fd);
      counters_.refused++;
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    while (nextId_ == kListenTag || conns_.count(nextId_)) nextId_++;
    uint32_t id = nextId_++;
    Conn &c = conns_[id];
    c.fd = fd;
    c.lastActive = now;
    c.admin = InPairs(peer.sin_addr.s_addr, admin_);
    c.mask = EPOLLIN | EPOLLRDHUP;
    Control(EPOLL_CTL_ADD, fd, c.mask, id);
    counters_.accepted++;
  }
}

void StreamConns::Read(uint32_t id, Conn &c, uint64_t now) {
  char buf[65536];
  bool grew = false;
  while (Reading(c)) {
    size_t room = limits_.inBytes - c.in.size();
    size_t asked = room < sizeof(buf) ? room : sizeof(buf);
    ssize_t n = ::read(c.fd, buf, asked);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      c.peerGone = true;
      break;
    }
    if (n < 0) break;
    counters_.bytesIn += uint64_t(n);
    size_t drop = c.skip < uint64_t(n) ? size_t(c.skip) : size_t(n);
    c.skip -= drop;
    if (size_t(n) > drop) {
      c.in.append(buf + drop, size_t(n) - drop);
      grew = true;
    }
    // a short read emptied the socket: another read would only say EAGAIN (epoll says when more comes)
    if (size_t(n) < asked) break;
  }
  c.lastActive = now;
  // the core saw every byte left and took none: the end of a request that will never come
  if (c.peerGone && !grew && !c.fresh) c.in.clear();
  if (grew && !c.fresh) {
    c.fresh = true;
    ready_.push_back(id);
  }
  if (c.peerGone) Touch(id, c);  // nothing more will come: it may be done
  Watch(id, c);                  // a full or finished connection is not polled in vain
}

void StreamConns::Event(uint32_t id, uint32_t events, uint64_t now) {
  if (id == kListenTag) {
    Accept(now);
    return;
  }
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  // a reset (or a close with replies unread) leaves nothing to write to; epoll reports it even
  // on a connection that is not being read
  if (events & (EPOLLERR | EPOLLHUP)) {
    Drop(id);
    return;
  }
  if (events & EPOLLOUT) Write(id, it->second);
  auto again = conns_.find(id);
  if (again != conns_.end() && (events & (EPOLLIN | EPOLLRDHUP))) Read(id, again->second, now);
}

uint32_t StreamConns::Collect(StreamDesc *desc, uint32_t room, uint64_t now) {
  passed_.clear();
  if (listen_ < 0) return 0;
  uint32_t used = 0, k = 0;
  later_.clear();
  for (uint32_t id : ready_) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn &c = it->second;
    if (!c.fresh) continue;
    uint32_t len = uint32_t(c.in.size());
    bool full = c.replies.size() >= limits_.inFlight || c.outBytes >= limits_.outBytes;
    if (len == 0 || c.closing) {
      c.fresh = false;
      continue;
    }
    if (k == room || full || uint64_t(used) + len > areaBytes_) {
      later_.push_back(id);
      continue;
    }
    std::memcpy(memory_ + area_ + used, c.in.data(), len);
    desc[k] = {area_ + used, len, id, kStreamKind | (c.admin ? kStreamAdmin : 0) | (uint32_t(c.nextSeq) << 16)};
    passed_.push_back(id);
    c.fresh = false;
    used += (len + 7) & ~7u;
    k++;
  }
  ready_.swap(later_);
  // what needs no core: a client gone with all its replies written is closed here, for a burst
  // with nothing else in it may not be sent at all
  Flush(now);
  return k;
}

void StreamConns::Taken(const StreamDesc *tx) {
  for (size_t i = 0; i < passed_.size(); i++) {
    auto it = conns_.find(passed_[i]);
    if (it == conns_.end()) continue;
    Conn &c = it->second;
    const StreamDesc &r = tx[i];
    if (r.flags & kRefused) {
      Drop(passed_[i]);
      continue;
    }
    if (r.len <= c.in.size()) {
      c.in.erase(0, r.len);
    } else {
      c.skip = uint64_t(r.len) - c.in.size();
      c.in.clear();
    }
    for (uint32_t q = 0; q < r.aux; q++) c.replies.push_back({c.nextSeq++, false, std::string(), {}});
    if (r.flags & kClose) c.closing = true;
    if ((r.flags & kAgain) && !c.fresh) {
      c.fresh = true;
      ready_.push_back(passed_[i]);
    }
    // a client that closed its side sends no more: what it left unfinished never will be
    if (c.peerGone && !(r.flags & kAgain)) c.in.clear();
    Touch(passed_[i], c);
  }
  // once: a loop may send several times between two receives
  passed_.clear();
}

void StreamConns::Out(const StreamDesc &d, const uint8_t *memory, size_t memorySize) {
  auto it = conns_.find(d.aux);
  if (it == conns_.end()) return;  // closed meanwhile: its replies have nowhere to go
  Conn &c = it->second;
  uint32_t kind = d.flags & 0xff;
  uint16_t seq, order = 0;
  const uint8_t *data = nullptr;
  uint32_t len = 0;
  if (kind == kOutDone) {
    seq = uint16_t(d.flags >> 16);
  } else if (kind == kOutStream) {
    if (d.len < kFrameHeader || uint64_t(d.off) + d.len > memorySize) return;
    seq = uint16_t((memory[d.off] << 8) | memory[d.off + 1]);
    order = uint16_t((memory[d.off + 6] << 8) | memory[d.off + 7]);  // the reserved field
    data = memory + d.off + kFrameHeader;
    len = d.len - kFrameHeader;
  } else {
    return;
  }
  for (Reply &r : c.replies) {
    if (r.seq != seq) continue;
    if (kind == kOutDone) {
      r.done = true;
      if (!r.pieces.empty()) PutInOrder(r);
    } else {
      if (order != 0 || !r.pieces.empty()) {
        // what came before the first placed piece (nothing is written of a reply once it has one;
        // at the front, that is already in `ready`, where it would have sorted to anyway)
        if (r.pieces.empty() && !r.bytes.empty()) r.pieces.push_back({0, 0, uint32_t(r.bytes.size())});
        r.pieces.push_back({order, uint32_t(r.bytes.size()), len});
        r.bytes.append(reinterpret_cast<const char *>(data), len);
      } else if (&r == &c.replies.front()) {
        c.ready.append(reinterpret_cast<const char *>(data), len);
      } else {
        r.bytes.append(reinterpret_cast<const char *>(data), len);
      }
      c.outBytes += len;
    }
    break;
  }
  Promote(c);
  Touch(d.aux, c);
}

// Moves what may now be written into `ready`: the replies at the front that are done, and what
// the first one not done has so far, unless it is being put in order.
void StreamConns::Promote(Conn &c) {
  while (!c.replies.empty()) {
    Reply &f = c.replies.front();
    if (!f.pieces.empty()) break;  // not done yet: a done reply's pieces are in order already
    if (!f.bytes.empty()) {
      c.ready.append(f.bytes);
      std::string().swap(f.bytes);
    }
    if (!f.done) break;
    c.replies.pop_front();
  }
}

// A done reply's pieces, laid out in the order of their places (pieces of one place in the order
// they came).
void StreamConns::PutInOrder(Reply &r) {
  std::stable_sort(r.pieces.begin(), r.pieces.end(), [](const Piece &a, const Piece &b) { return a.order < b.order; });
  std::string sorted;
  sorted.reserve(r.bytes.size());
  for (const Piece &p : r.pieces) sorted.append(r.bytes, p.at, p.len);
  r.bytes.swap(sorted);
  r.pieces.clear();
  r.pieces.shrink_to_fit();
}

void StreamConns::Write(uint32_t id, Conn &c) {
  int64_t last = 0;
  while (c.readyAt < c.ready.size()) {
    ssize_t w = send(c.fd, c.ready.data() + c.readyAt, c.ready.size() - c.readyAt, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w < 0) {
      last = -errno;
      break;
    }
    Took(c, size_t(w));
  }
  Settle(id, c, last);
}

void StreamConns::Sent(uint32_t id, int64_t result) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  if (result > 0) Took(it->second, size_t(result));
  Settle(id, it->second, result);
}

void StreamConns::Took(Conn &c, size_t bytes) {
  counters_.bytesOut += bytes;
  c.outBytes -= bytes;
  c.readyAt += bytes;
}

// After a write whose last result was `result` (bytes, or -errno): a failed connection closes;
// what is left waits for EPOLLOUT; a connection with nothing more to say closes.
void StreamConns::Settle(uint32_t id, Conn &c, int64_t result) {
  if (result < 0 && result != -EAGAIN && result != -EINTR) {
    Drop(id);
    return;
  }
  c.wantWrite = c.readyAt < c.ready.size();
  if (!c.wantWrite) {
    c.ready.clear();
    c.readyAt = 0;
  } else if (c.readyAt > c.ready.size() / 2) {
    // a slow reader: what it took goes, so that `ready` does not grow past outBytes twice over
    c.ready.erase(0, c.readyAt);
    c.readyAt = 0;
  }
  bool finished = c.replies.empty() && c.ready.empty() && (c.closing || (c.peerGone && c.in.empty()));
  if (finished) {
    Drop(id);
    return;
  }
  Watch(id, c);
}

void StreamConns::Flush(uint64_t now, SendBatch *batch) {
  for (uint32_t id : touched_) {
    auto it = conns_.find(id);
    if (it == conns_.end()) continue;
    Conn &c = it->second;
    c.touched = false;
    if (batch != nullptr && c.readyAt < c.ready.size()) {
      batch->Add(c.fd, c.ready.data() + c.readyAt, c.ready.size() - c.readyAt, EventTag(EventOwner::kStreams, id));
    } else {
      Write(id, c);
    }
  }
  touched_.clear();
  if (now < nextSweep_) return;
  nextSweep_ = now + kSweepNs;
  std::vector<uint32_t> idle;
  for (auto &kv : conns_) {
    const Conn &c = kv.second;
    if (limits_.idleNs != 0 && c.replies.empty() && c.ready.empty() && now > c.lastActive &&
        now - c.lastActive > limits_.idleNs)
      idle.push_back(kv.first);
  }
  for (uint32_t id : idle) {
    counters_.idleClosed++;
    Drop(id);
  }
}

void StreamConns::Touch(uint32_t id, Conn &c) {
  if (c.touched) return;  // once a flush: its replies go out in one write
  c.touched = true;
  touched_.push_back(id);
}

void StreamConns::Drop(uint32_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  epoll_ctl(epoll_, EPOLL_CTL_DEL, it->second.fd, nullptr);
  ::close(it->second.fd);
  conns_.erase(it);
  counters_.closed++;
}

}  // namespace kvlb
