// Batched UDP I/O for the socket data path: recvmmsg straight into the core's datagram slots
// and sendmmsg straight out of its memory, with descriptors in its rings. One call moves a
// whole burst; JavaScript never touches a packet.
#include <napi.h>

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include "backend_conns.h"
#include "event_tags.h"
#include "frame_guard.h"
#include "send_batch.h"
#include "send_guard.h"
#include "stream_conns.h"

namespace {

constexpr int kMaxBurst = 4096;
constexpr uint32_t kClientKind = 3;   // DK_CLIENT
constexpr uint32_t kBackendKind = 4;  // DK_BACKEND
constexpr uint32_t kTruncated = 0x100;
constexpr uint32_t kStreamOut = 2;  // OUT_STREAM and OUT_STREAM_DONE: for the TCP side

struct Desc {
  uint32_t off, len, addr, flags;
};

std::string Endpoint(const std::string &addr, int port) { return addr + ":" + std::to_string(port); }

// Why a socket could not be opened. code is one of host/errors.ts's codes when the operator
// can fix it (the host tells errors apart by it, never by the message), or null for a fault.
struct OpenError {
  std::string message;
  const char *code = nullptr;
};

OpenError BindError(const std::string &where, int err) {
  switch (err) {
    case EADDRINUSE:
      return {where + ": address in use (is another kvlb or memcached listening there?)", "KVLB_ADDRESS"};
    case EADDRNOTAVAIL:
      return {where + ": not an address of this machine", "KVLB_ADDRESS"};
    case EACCES:
      return {where + ": ports below 1024 need root (CAP_NET_BIND_SERVICE)", "KVLB_ADDRESS"};
    default:
      return {where + ": " + strerror(err)};
  }
}

void ThrowOpenError(Napi::Env env, const OpenError &e) {
  Napi::Error error = Napi::Error::New(env, e.message);
  if (e.code) error.Set("code", Napi::String::New(env, e.code));
  error.ThrowAsJavaScriptException();
}

class UdpBatch : public Napi::ObjectWrap<UdpBatch> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function fn = DefineClass(
        env, "UdpBatch",
        {InstanceMethod("receive", &UdpBatch::Receive), InstanceMethod("send", &UdpBatch::Send),
         InstanceMethod("wait", &UdpBatch::Wait), InstanceMethod("close", &UdpBatch::Close),
         InstanceMethod("ports", &UdpBatch::Ports), InstanceMethod("guard", &UdpBatch::Guard),
         InstanceMethod("refused", &UdpBatch::Refused), InstanceMethod("guardFrames", &UdpBatch::GuardFrames),
         InstanceMethod("sawFrames", &UdpBatch::SawFrames), InstanceMethod("keepFrames", &UdpBatch::KeepFrames),
         InstanceMethod("streams", &UdpBatch::Streams), InstanceMethod("allowStreams", &UdpBatch::AllowStreams),
         InstanceMethod("tcpBackends", &UdpBatch::TcpBackends),
         InstanceMethod("backendStreams", &UdpBatch::BackendStreams)});
    exports.Set("UdpBatch", fn);
    return exports;
  }

  // new UdpBatch(memory: Uint8Array, layout, listenAddress, listenPort, backendAddress)
  explicit UdpBatch(const Napi::CallbackInfo &info) : Napi::ObjectWrap<UdpBatch>(info) {
    Napi::Env env = info.Env();
    if (info.Length() < 5 || !info[0].IsTypedArray() || !info[1].IsObject() || !info[2].IsString() ||
        !info[3].IsNumber() || !info[4].IsString()) {
      Napi::TypeError::New(env, "UdpBatch(memory, layout, listenAddress, listenPort, backendAddress)")
          .ThrowAsJavaScriptException();
      return;
    }
    auto view = info[0].As<Napi::Uint8Array>();
    memory_ = view.Data();
    memorySize_ = view.ByteLength();
    memoryRef_ = Napi::Persistent(view.As<Napi::Object>());
    auto layout = info[1].As<Napi::Object>();
    rxDesc_ = layout.Get("rxDesc").As<Napi::Number>().Uint32Value();
    slots_ = layout.Get("slots").As<Napi::Number>().Uint32Value();
    slotBytes_ = layout.Get("slotBytes").As<Napi::Number>().Uint32Value();
    slotCount_ = layout.Get("slotCount").As<Napi::Number>().Uint32Value();
    outDesc_ = layout.Get("outDesc").As<Napi::Number>().Uint32Value();
    outMax_ = layout.Get("outMax").As<Napi::Number>().Uint32Value();
    if (slotCount_ < 2 || slotCount_ > kMaxBurst || outMax_ > kMaxBurst ||
        uint64_t(slots_) + uint64_t(slotCount_) * slotBytes_ > memorySize_) {
      Napi::RangeError::New(env, "UdpBatch: the layout does not fit the memory").ThrowAsJavaScriptException();
      return;
    }
    std::string listenAddr = info[2].As<Napi::String>();
    int listenPort = info[3].As<Napi::Number>().Int32Value();
    std::string backendAddr = info[4].As<Napi::String>();
    // kShared: several workers listen on one address, and the kernel spreads what reaches it.
    // kFreebind: the address is on no kernel interface (a NIC bound to DPDK serves it).
    uint32_t flags = info.Length() > 5 && info[5].IsNumber() ? info[5].As<Napi::Number>().Uint32Value() : 0;
    OpenError err;
    epoll_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_ < 0) {
      ThrowOpenError(env, {std::string("epoll_create1: ") + strerror(errno)});
      return;
    }
    client_ = Open(listenAddr, listenPort, flags, &err);
    if (client_ < 0) {
      CloseFds();
      ThrowOpenError(env, err);
      return;
    }
    backend_ = Open(backendAddr, 0, 0, &err);
    if (backend_ < 0) {
      CloseFds();
      ThrowOpenError(env, err);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kvlb::EventTag(kvlb::EventOwner::kClientUdp, 0);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, client_, &ev);
    ev.data.u64 = kvlb::EventTag(kvlb::EventOwner::kBackendUdp, 0);
    epoll_ctl(epoll_, EPOLL_CTL_ADD, backend_, &ev);
    rxMax_ = layout.Has("rxMax") ? layout.Get("rxMax").As<Napi::Number>().Uint32Value() : slotCount_;
    if (rxMax_ > kMaxBurst || rxMax_ < slotCount_) {
      CloseFds();
      Napi::RangeError::New(env, "UdpBatch: rxMax must lie between slotCount and 4096").ThrowAsJavaScriptException();
      return;
    }
    // backends over TCP, when the layout gives their replies a place
    uint32_t replyBytes = layout.Has("replyBytes") ? layout.Get("replyBytes").As<Napi::Number>().Uint32Value() : 0;
    if (replyBytes != 0) {
      uint32_t replyArea = layout.Get("replyArea").As<Napi::Number>().Uint32Value();
      if (uint64_t(replyArea) + replyBytes > memorySize_ || replyBytes < 65536) {
        CloseFds();
        Napi::RangeError::New(env, "UdpBatch: the reply area does not fit the memory").ThrowAsJavaScriptException();
        return;
      }
      backends_.Open(epoll_, memory_, replyArea, replyBytes);
    }
    // TCP clients on the same address and port, when the layout gives their bytes a place
    uint32_t streamBytes = layout.Has("streamBytes") ? layout.Get("streamBytes").As<Napi::Number>().Uint32Value() : 0;
    if (streamBytes == 0) return;
    uint32_t streamArea = layout.Get("streamArea").As<Napi::Number>().Uint32Value();
    txDesc_ = layout.Get("txDesc").As<Napi::Number>().Uint32Value();
    if (uint64_t(streamArea) + streamBytes > memorySize_) {
      CloseFds();
      Napi::RangeError::New(env, "UdpBatch: the stream area does not fit the memory").ThrowAsJavaScriptException();
      return;
    }
    int port = Port(client_);
    kvlb::StreamLimits limits;
    if (layout.Has("maxConnections"))
      limits.maxConnections = layout.Get("maxConnections").As<Napi::Number>().Uint32Value();
    // bytes a connection may have unread must hold its largest request, which the core takes whole
    if (layout.Has("inBytes"))
      limits.inBytes = std::max(limits.inBytes, layout.Get("inBytes").As<Napi::Number>().Uint32Value());
    if (layout.Has("idleSeconds"))
      limits.idleNs = uint64_t(layout.Get("idleSeconds").As<Napi::Number>().Uint32Value()) * 1000000000ull;
    int e = streams_.Open(epoll_, listenAddr, port, flags & kShared, flags & kFreebind, memory_, streamArea,
                          streamBytes, limits);
    if (e != 0) {
      CloseFds();
      ThrowOpenError(env, BindError(Endpoint(listenAddr, port) + " (TCP)", e));
    }
  }

  ~UdpBatch() override { CloseFds(); }

 private:
  static constexpr uint32_t kShared = 1;
  static constexpr uint32_t kFreebind = 2;

  static int Open(const std::string &addr, int port, uint32_t flags, OpenError *err) {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) {
      *err = {addr + ": not an IPv4 address", "KVLB_CONFIG"};
      return -1;
    }
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      *err = {std::string("socket: ") + strerror(errno)};
      return -1;
    }
    // Bursts from many clients must not overflow the default 208 KiB buffer.
    int size = 8 << 20;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
      setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    int one = 1;
    if ((flags & kShared) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
      *err = {std::string("SO_REUSEPORT: ") + strerror(errno)};
      ::close(fd);
      return -1;
    }
    if (flags & kFreebind) setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
    if (bind(fd, reinterpret_cast<sockaddr *>(&sa), sizeof(sa)) < 0) {
      *err = BindError(Endpoint(addr, port), errno);
      ::close(fd);
      return -1;
    }
    return fd;
  }

  void CloseFds() {
    streams_.Close();
    backends_.Close();
    if (client_ >= 0) ::close(client_);
    if (backend_ >= 0) ::close(backend_);
    if (epoll_ >= 0) ::close(epoll_);
    client_ = backend_ = epoll_ = -1;
  }

  // Receives into slots [first, first + count) and descriptors from `at`; returns how many.
  int ReceiveFrom(int fd, uint32_t first, uint32_t count, uint32_t at, uint32_t kind) {
    for (uint32_t i = 0; i < count; i++) {
      iov_[i].iov_base = memory_ + slots_ + size_t(first + i) * slotBytes_;
      iov_[i].iov_len = slotBytes_;
      msgs_[i].msg_hdr = {};
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
      msgs_[i].msg_hdr.msg_name = &names_[i];
      msgs_[i].msg_hdr.msg_namelen = sizeof(sockaddr_in);
    }
    int n = recvmmsg(fd, msgs_, count, MSG_DONTWAIT, nullptr);
    if (n <= 0) return 0;
    uint64_t now = kind == kClientKind ? SendGuard::Now() : 0;
    auto *desc = reinterpret_cast<Desc *>(memory_ + rxDesc_) + at;
    for (int i = 0; i < n; i++) {
      uint32_t len = msgs_[i].msg_len;
      bool truncated = (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0 || len > slotBytes_;
      desc[i].off = slots_ + (first + i) * slotBytes_;
      desc[i].len = truncated ? 0 : len;
      desc[i].addr = names_[i].sin_addr.s_addr;
      desc[i].flags = kind | (truncated ? kTruncated : 0) | (uint32_t(ntohs(names_[i].sin_port)) << 16);
      if (kind == kClientKind) guard_.Saw(names_[i].sin_addr.s_addr, ntohs(names_[i].sin_port), now);
    }
    return n;
  }

  // One epoll_wait says which sockets have something: only those are read (a UDP socket's
  // recvmmsg that would find nothing costs as much as the wait).
  Napi::Value Receive(const Napi::CallbackInfo &info) {
    if (client_ < 0) return Napi::Number::New(info.Env(), 0);
    uint64_t now = SendGuard::Now();
    bool clientUdp = false, backendUdp = false;
    int ready = epoll_wait(epoll_, events_, kMaxEvents, 0);
    for (int i = 0; i < ready; i++) {
      uint32_t id = kvlb::TagId(events_[i].data.u64);
      switch (kvlb::TagOwner(events_[i].data.u64)) {
        case kvlb::EventOwner::kClientUdp:
          clientUdp = true;
          break;
        case kvlb::EventOwner::kBackendUdp:
          backendUdp = true;
          break;
        case kvlb::EventOwner::kStreams:
          streams_.Event(id, events_[i].events, now);
          break;
        case kvlb::EventOwner::kBackendConns:
          backends_.Event(id, events_[i].events, now);
          break;
      }
    }
    uint32_t half = slotCount_ / 2;
    int a = backendUdp ? ReceiveFrom(backend_, 0, half, 0, kBackendKind) : 0;
    int b = clientUdp ? ReceiveFrom(client_, half, slotCount_ - half, a, kClientKind) : 0;
    streamFirst_ = uint32_t(a + b);
    uint32_t c = 0;
    if (streams_.On()) {
      auto *desc = reinterpret_cast<kvlb::StreamDesc *>(memory_ + rxDesc_) + streamFirst_;
      c = streams_.Collect(desc, rxMax_ - streamFirst_, now);
    }
    uint32_t d = 0;
    if (backends_.On()) {
      uint32_t at = streamFirst_ + c;
      auto *desc = reinterpret_cast<kvlb::BackendDesc *>(memory_ + rxDesc_) + at;
      d = backends_.Collect(desc, rxMax_ - at, now);
    }
    return Napi::Number::New(info.Env(), a + b + int(c + d));
  }

  // Sends the n out descriptors: a flags low bit of 0 goes from the listening socket, 1 from
  // the backend socket. Returns the datagrams the kernel took.
  Napi::Value Send(const Napi::CallbackInfo &info) {
    uint32_t n = info[0].As<Napi::Number>().Uint32Value();
    if (n > outMax_ || client_ < 0) return Napi::Number::New(info.Env(), 0);
    const auto *desc = reinterpret_cast<const Desc *>(memory_ + outDesc_);
    int sent = 0;
    uint64_t now = SendGuard::Now();
    if (streams_.On()) {
      // what the core took from each connection, then each reply in order of its request
      streams_.Taken(reinterpret_cast<const kvlb::StreamDesc *>(memory_ + txDesc_) + streamFirst_);
      const auto *out = reinterpret_cast<const kvlb::StreamDesc *>(desc);
      for (uint32_t i = 0; i < n; i++) {
        // a reply (or done marker) handed to its connection counts as sent: TCP delivers it
        if ((desc[i].flags & 0xff) >= kStreamOut) {
          streams_.Out(out[i], memory_, memorySize_);
          sent++;
        }
      }
      streams_.Flush(now, &sends_);
    }
    if (backends_.On()) backends_.Flush(now);  // reconnects what is due before requests are queued
    for (int sock = 0; sock < 2; sock++) {
      uint32_t m = 0;
      for (uint32_t i = 0; i < n; i++) {
        if ((desc[i].flags & 0xff) != uint32_t(sock)) continue;
        if (uint64_t(desc[i].off) + desc[i].len > memorySize_) continue;
        uint16_t port = uint16_t(desc[i].flags >> 16);
        bool allowed =
            sock == 0 ? guard_.MayReachClient(desc[i].addr, port, now) : guard_.MayReachBackend(desc[i].addr, port);
        if (!allowed) {
          refused_++;
          continue;
        }
        if (sock == 1 && backends_.On() && backends_.Has(desc[i].addr, port)) {
          backends_.Out(desc[i].addr, port, memory_ + desc[i].off, desc[i].len, now);
          sent++;
          continue;
        }
        iov_[m].iov_base = memory_ + desc[i].off;
        iov_[m].iov_len = desc[i].len;
        names_[m] = {};
        names_[m].sin_family = AF_INET;
        names_[m].sin_addr.s_addr = desc[i].addr;
        names_[m].sin_port = htons(uint16_t(desc[i].flags >> 16));
        msgs_[m].msg_hdr = {};
        msgs_[m].msg_hdr.msg_iov = &iov_[m];
        msgs_[m].msg_hdr.msg_iovlen = 1;
        msgs_[m].msg_hdr.msg_name = &names_[m];
        msgs_[m].msg_hdr.msg_namelen = sizeof(sockaddr_in);
        m++;
      }
      sent += SendAll(sock == 0 ? client_ : backend_, m);
    }
    if (backends_.On()) backends_.Flush(now, &sends_);
    // every connection's write of this burst in one system call
    sends_.Run([&](uint64_t tag, int64_t result) {
      if (kvlb::TagOwner(tag) == kvlb::EventOwner::kStreams) {
        streams_.Sent(kvlb::TagId(tag), result);
      } else {
        backends_.Sent(kvlb::TagId(tag), result, now);
      }
    });
    return Napi::Number::New(info.Env(), sent);
  }

  int SendAll(int fd, uint32_t m) {
    uint32_t done = 0;
    int spins = 0;
    while (done < m) {
      int r = sendmmsg(fd, msgs_ + done, m - done, MSG_DONTWAIT);
      if (r > 0) {
        done += r;
        continue;
      }
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) && spins++ < 100) {
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, 1);
        continue;
      }
      if (r < 0 && errno != EAGAIN) {
        done++;  // an unreachable peer (ECONNREFUSED and the like) fails one datagram only
        continue;
      }
      break;
    }
    return int(done);
  }

  // Blocks until either socket is readable or timeoutMs passes: the idle backoff.
  // Waits up to timeout milliseconds, fractions included: a DPDK worker, which nothing wakes
  // when a frame arrives, sleeps in steps of tens of microseconds.
  Napi::Value Wait(const Napi::CallbackInfo &info) {
    double ms = info[0].As<Napi::Number>().DoubleValue();
    if (ms < 0) ms = 0;
    timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>(fmod(ms, 1000.0) * 1e6)};
    pollfd fds[1] = {{epoll_, POLLIN, 0}};  // readable when any socket in it is
    int r = ppoll(fds, 1, &ts, nullptr);
    return Napi::Number::New(info.Env(), r > 0 ? 1 : 0);
  }

  // guard(backends: Uint32Array of (address, port) pairs, windowMs): from now on, datagrams go
  // only to those backends and to clients heard from within the window.
  Napi::Value Guard(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "guard(backends: Uint32Array, windowMs)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto pairs = info[0].As<Napi::Uint32Array>();
    std::vector<uint64_t> backends;
    for (size_t i = 0; i + 1 < pairs.ElementLength(); i += 2) {
      backends.push_back(SendGuard::Key(pairs[i], uint16_t(pairs[i + 1])));
    }
    guard_.Set(backends, uint64_t(info[1].As<Napi::Number>().DoubleValue() * 1e6));
    return env.Undefined();
  }

  // guardFrames({ umemOffset, umemBytes, frameSize, poolOffset }, sources: Uint32Array): the
  // guard also covers the frame paths. sources are the addresses kvlb's frames may come from
  // (the kernel sets a socket's; a frame's is whatever the module wrote).
  Napi::Value GuardFrames(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsTypedArray()) {
      Napi::TypeError::New(env, "guardFrames(layout, sources: Uint32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto o = info[0].As<Napi::Object>();
    uint64_t umem = o.Get("umemOffset").As<Napi::Number>().Uint32Value();
    uint64_t bytes = o.Get("umemBytes").As<Napi::Number>().Uint32Value();
    uint32_t frame = o.Get("frameSize").As<Napi::Number>().Uint32Value();
    uint64_t pool = o.Get("poolOffset").As<Napi::Number>().Uint32Value();
    if (frame == 0 || (frame & (frame - 1)) || umem + bytes > memorySize_ || pool + 8 > memorySize_) {
      Napi::RangeError::New(env, "guardFrames: the frames must lie inside the memory").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    umem_ = memory_ + umem;
    umemBytes_ = bytes;
    frameMask_ = ~uint64_t(frame - 1);
    pool_ = reinterpret_cast<uint32_t *>(memory_ + pool);
    auto list = info[1].As<Napi::Uint32Array>();
    sources_.assign(list.Data(), list.Data() + list.ElementLength());
    listenPort_ = uint16_t(Port(client_));
    backendPort_ = uint16_t(Port(backend_));
    return env.Undefined();
  }

  // sawFrames(descOff, n): the received frames' clients may be answered (as Receive does for
  // the listening socket).
  Napi::Value SawFrames(const Napi::CallbackInfo &info) {
    const FrameDesc *d = Descs(info);
    uint32_t n = info[1].As<Napi::Number>().Uint32Value();
    if (!d || !umem_) return info.Env().Undefined();
    uint64_t now = SendGuard::Now();
    for (uint32_t i = 0; i < n; i++) {
      FrameEndpoints e;
      if (d[i].addr + d[i].len > umemBytes_) continue;
      if (ReadFrame(umem_ + d[i].addr, d[i].len, &e) == FrameKind::kUdp && e.dport == listenPort_ &&
          !guard_.MayReachBackend(e.src, e.sport)) {
        guard_.Saw(e.src, e.sport, now);
      }
    }
    return info.Env().Undefined();
  }

  // keepFrames(descOff, n): drops from the n tx descriptors every frame the guard refuses (its
  // frame goes back to the pool) and closes the gap; returns how many are left. ARP passes:
  // the core answers and asks for neighbours itself where no kernel does.
  Napi::Value KeepFrames(const Napi::CallbackInfo &info) {
    const FrameDesc *in = Descs(info);
    uint32_t n = info[1].As<Napi::Number>().Uint32Value();
    if (!in || !umem_ || !guard_.On()) return Napi::Number::New(info.Env(), in ? n : 0);
    auto *d = const_cast<FrameDesc *>(in);
    uint64_t now = SendGuard::Now();
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (d[i].addr + d[i].len <= umemBytes_ && FrameAllowed(umem_ + d[i].addr, d[i].len, now)) {
        d[kept++] = d[i];
        continue;
      }
      refused_++;
      if (d[i].addr < umemBytes_ && pool_[0] < pool_[1]) pool_[2 + pool_[0]++] = uint32_t(d[i].addr & frameMask_);
    }
    return Napi::Number::New(info.Env(), kept);
  }

  bool FrameAllowed(const uint8_t *f, uint32_t len, uint64_t now) const {
    FrameEndpoints e;
    FrameKind kind = ReadFrame(f, len, &e);
    if (kind == FrameKind::kArp) return true;
    if (kind != FrameKind::kUdp) return false;
    bool ours = false;
    for (uint32_t a : sources_) ours = ours || a == e.src;
    if (!ours) return false;
    if (e.sport == listenPort_) return guard_.MayReachClient(e.dst, e.dport, now);
    if (e.sport == backendPort_) return guard_.MayReachBackend(e.dst, e.dport);
    return false;
  }

  // The descriptors at info[0], when info[1] of them lie inside the memory.
  const FrameDesc *Descs(const Napi::CallbackInfo &info) const {
    uint64_t at = info[0].As<Napi::Number>().Uint32Value();
    uint64_t n = info[1].As<Napi::Number>().Uint32Value();
    if (at + n * sizeof(FrameDesc) > memorySize_) return nullptr;
    return reinterpret_cast<const FrameDesc *>(memory_ + at);
  }

  // Datagrams the core queued for a destination the guard refused.
  Napi::Value Refused(const Napi::CallbackInfo &info) { return Napi::Number::New(info.Env(), double(refused_)); }

  // The TCP side's counters: connections open, accepted, refused (over the limit), closed (idle
  // among them), bytes each way, and the writes of bursts to TCP connections (clients' and
  // backends') with the system calls they took.
  Napi::Value Streams(const Napi::CallbackInfo &info) {
    Napi::Object o = Napi::Object::New(info.Env());
    const kvlb::StreamCounters &c = streams_.Counters();
    o.Set("open", double(streams_.Count()));
    o.Set("accepted", double(c.accepted));
    o.Set("refused", double(c.refused));
    o.Set("closed", double(c.closed));
    o.Set("idleClosed", double(c.idleClosed));
    o.Set("notAllowed", double(c.notAllowed));
    o.Set("bytesIn", double(c.bytesIn));
    o.Set("bytesOut", double(c.bytesOut));
    // every connection's, backends' too, since one batch carries them all
    o.Set("writes", double(sends_.Writes()));
    o.Set("writeCalls", double(sends_.Calls()));
    return o;
  }

  // tcpBackends(pairs: Uint32Array of (address, port), pool): datagrams to these backends go over
  // `pool` TCP connections to each instead (needs the layout's reply area).
  Napi::Value TcpBackends(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsNumber()) {
      Napi::TypeError::New(env, "tcpBackends(pairs: Uint32Array, pool)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (!backends_.Opened()) {
      Napi::Error::New(env, "tcpBackends: the layout gave backend replies no area").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto pairs = info[0].As<Napi::Uint32Array>();
    uint32_t pool = info[1].As<Napi::Number>().Uint32Value();
    backends_.Set(std::vector<uint32_t>(pairs.Data(), pairs.Data() + pairs.ElementLength()), pool < 1 ? 1 : pool,
                  SendGuard::Now());
    return env.Undefined();
  }

  // The TCP backends' counters: connections open and made, failures, requests lost with a
  // connection or never sent, replies that could not be framed, replies and bytes.
  Napi::Value BackendStreams(const Napi::CallbackInfo &info) {
    Napi::Object o = Napi::Object::New(info.Env());
    const kvlb::BackendCounters &c = backends_.Counters();
    o.Set("open", double(backends_.Connected()));
    o.Set("connects", double(c.connects));
    o.Set("failures", double(c.failures));
    o.Set("lost", double(c.lost));
    o.Set("unsent", double(c.unsent));
    o.Set("badReplies", double(c.badReplies));
    o.Set("replies", double(c.replies));
    o.Set("bytesIn", double(c.bytesIn));
    o.Set("bytesOut", double(c.bytesOut));
    return o;
  }

  // allowStreams(allow, admin: Uint32Array of (network, mask)): connections from outside allow
  // are closed; those from inside admin may send flush_all.
  Napi::Value AllowStreams(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (info.Length() < 2 || !info[0].IsTypedArray() || !info[1].IsTypedArray()) {
      Napi::TypeError::New(env, "allowStreams(allow: Uint32Array, admin: Uint32Array)").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    auto allow = info[0].As<Napi::Uint32Array>();
    auto admin = info[1].As<Napi::Uint32Array>();
    streams_.Allow(std::vector<uint32_t>(allow.Data(), allow.Data() + allow.ElementLength()),
                   std::vector<uint32_t>(admin.Data(), admin.Data() + admin.ElementLength()));
    return env.Undefined();
  }

  Napi::Value Ports(const Napi::CallbackInfo &info) {
    Napi::Object o = Napi::Object::New(info.Env());
    o.Set("listen", Port(client_));
    o.Set("tcp", streams_.Port());
    o.Set("backend", Port(backend_));
    auto fds = Napi::Array::New(info.Env());
    fds.Set(0u, Napi::Number::New(info.Env(), epoll_));  // readable when any of its sockets is
    o.Set("fds", fds);
    return o;
  }

  static int Port(int fd) {
    sockaddr_in sa{};
    socklen_t len = sizeof(sa);
    if (fd < 0 || getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &len) < 0) return 0;
    return ntohs(sa.sin_port);
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    CloseFds();
    return info.Env().Undefined();
  }

  uint8_t *memory_ = nullptr;
  size_t memorySize_ = 0;
  Napi::ObjectReference memoryRef_;
  uint32_t rxDesc_ = 0, slots_ = 0, slotBytes_ = 0, slotCount_ = 0, outDesc_ = 0, outMax_ = 0;
  uint32_t txDesc_ = 0, rxMax_ = 0, streamFirst_ = 0;
  kvlb::StreamConns streams_;
  kvlb::BackendConns backends_;
  kvlb::SendBatch sends_;
  int client_ = -1, backend_ = -1;
  int epoll_ = -1;  // every socket above (event_tags.h)
  static constexpr int kMaxEvents = 256;
  epoll_event events_[kMaxEvents];
  SendGuard guard_;
  uint64_t refused_ = 0;
  // the frame paths' UMEM and free-frame pool (u32 count, u32 capacity, frames), once guarded
  uint8_t *umem_ = nullptr;
  uint64_t umemBytes_ = 0, frameMask_ = 0;
  uint32_t *pool_ = nullptr;
  std::vector<uint32_t> sources_;
  uint16_t listenPort_ = 0, backendPort_ = 0;
  mmsghdr msgs_[kMaxBurst];
  iovec iov_[kMaxBurst];
  sockaddr_in names_[kMaxBurst];
};

Napi::Object Init(Napi::Env env, Napi::Object exports) { return UdpBatch::Init(env, exports); }

}  // namespace

NODE_API_MODULE(udp_batch, Init)
