// AF_XDP sockets sharing one UMEM that lives in a caller-given buffer (a WebAssembly memory).
// Each call moves a whole burst: rx descriptors are written into the caller's memory, tx
// descriptors are read from it, and free frames live in a stack there too, so the caller
// decides which frames to reuse without a call per frame.
//
// Layouts in the caller's memory (little-endian):
//   descriptor: struct xdp_desc { u64 addr; u32 len; u32 options } with options = socket index
//   frame pool: u32 count, u32 capacity, then `capacity` u32 frame base offsets into the UMEM
#include "xsk.h"

#include <errno.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <xdp/xsk.h>

#include <vector>

namespace {

constexpr uint32_t kMaxSockets = 64;

struct Socket {
  xsk_socket *xsk = nullptr;
  xsk_ring_cons rx{};
  xsk_ring_prod tx{};
  xsk_ring_prod fill{};
  xsk_ring_cons comp{};
  uint32_t fill_held = 0;   // frames handed to the kernel through the fill ring, not yet received
  uint64_t tx_dropped = 0;  // frames the tx ring had no room for
};

struct Pool {
  uint32_t *count;
  uint32_t capacity;
  uint32_t *entries;
};

class XskSet : public Napi::ObjectWrap<XskSet> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit XskSet(const Napi::CallbackInfo &info);
  ~XskSet() override { Close(); }

 private:
  Napi::Value Add(const Napi::CallbackInfo &info);
  Napi::Value Receive(const Napi::CallbackInfo &info);
  Napi::Value Transmit(const Napi::CallbackInfo &info);
  Napi::Value Wait(const Napi::CallbackInfo &info);
  Napi::Value Stats(const Napi::CallbackInfo &info);
  Napi::Value CloseJs(const Napi::CallbackInfo &info);
  void Close();
  Pool pool() const;
  void Reclaim(Socket &s, Pool &p);
  void Refill(Socket &s, Pool &p);

  Napi::Reference<Napi::Uint8Array> memory_ref_;
  uint8_t *memory_ = nullptr;
  size_t memory_bytes_ = 0;
  uint8_t *umem_area_ = nullptr;
  uint64_t umem_bytes_ = 0;
  uint32_t frame_size_ = 0;
  uint32_t pool_offset_ = 0;
  uint32_t fill_size_ = 0;
  xsk_umem *umem_ = nullptr;
  xsk_ring_prod umem_fill_{};
  xsk_ring_cons umem_comp_{};
  std::vector<Socket> sockets_;
};

uint32_t Prop(const Napi::Object &o, const char *name, uint32_t fallback) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

// new XskSet(memory, { umemOffset, umemBytes, frameSize, poolOffset, fillSize, compSize })
XskSet::XskSet(const Napi::CallbackInfo &info) : Napi::ObjectWrap<XskSet>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || !info[1].IsObject()) {
    XskFail(env, "xsk umem", EINVAL);
    return;
  }
  auto memory = info[0].As<Napi::Uint8Array>();
  Napi::Object o = info[1].As<Napi::Object>();
  memory_ref_ = Napi::Persistent(memory);
  memory_ = memory.Data();
  memory_bytes_ = memory.ByteLength();
  uint32_t offset = Prop(o, "umemOffset", 0);
  umem_bytes_ = Prop(o, "umemBytes", 0);
  frame_size_ = Prop(o, "frameSize", 2048);
  pool_offset_ = Prop(o, "poolOffset", 0);
  fill_size_ = Prop(o, "fillSize", 2048);
  sockets_.reserve(kMaxSockets);  // libxdp keeps pointers to the rings: they must not move
  umem_area_ = memory_ + offset;
  bool aligned = (reinterpret_cast<uintptr_t>(umem_area_) & 4095) == 0;
  if (!aligned || offset + umem_bytes_ > memory_bytes_ || pool_offset_ + 8 > memory_bytes_ ||
      umem_bytes_ < frame_size_) {
    XskFail(env, "xsk umem: the region must be page-aligned and inside the buffer", EINVAL);
    return;
  }
  xsk_umem_config cfg{};
  cfg.fill_size = fill_size_;
  cfg.comp_size = Prop(o, "compSize", 2048);
  cfg.frame_size = frame_size_;
  cfg.frame_headroom = 0;
  cfg.flags = 0;
  int err = xsk_umem__create(&umem_, umem_area_, umem_bytes_, &umem_fill_, &umem_comp_, &cfg);
  if (err) {
    umem_ = nullptr;
    XskFail(env, "xsk umem create", err);
  }
}

Pool XskSet::pool() const {
  auto *base = reinterpret_cast<uint32_t *>(memory_ + pool_offset_);
  return Pool{base, base[1], base + 2};
}

// add(ifname, queue, { rxSize, txSize, bindFlags }) -> socket index; the socket's fd is in .fd
Napi::Value XskSet::Add(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!umem_) return XskFail(env, "xsk socket: the set is closed", EBADF);
  if (sockets_.size() >= kMaxSockets) return XskFail(env, "xsk socket: too many sockets", ENOSPC);
  std::string ifname = info[0].As<Napi::String>();
  uint32_t queue = info[1].As<Napi::Number>().Uint32Value();
  Napi::Object o = info[2].As<Napi::Object>();
  xsk_socket_config cfg{};
  cfg.rx_size = Prop(o, "rxSize", 2048);
  cfg.tx_size = Prop(o, "txSize", 2048);
  cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  cfg.bind_flags = static_cast<uint16_t>(Prop(o, "bindFlags", XDP_USE_NEED_WAKEUP));
  sockets_.emplace_back();
  Socket &s = sockets_.back();
  if (sockets_.size() == 1) {
    // the first socket takes the rings made with the UMEM
    s.fill = umem_fill_;
    s.comp = umem_comp_;
  }
  int err = xsk_socket__create_shared(&s.xsk, ifname.c_str(), queue, umem_, &s.rx, &s.tx, &s.fill, &s.comp, &cfg);
  if (err) {
    sockets_.pop_back();
    return XskFail(env, "xsk socket " + ifname + " queue " + std::to_string(queue), err);
  }
  Pool p = pool();
  Refill(s, p);
  Napi::Object out = Napi::Object::New(env);
  out.Set("index", Napi::Number::New(env, sockets_.size() - 1));
  out.Set("fd", Napi::Number::New(env, xsk_socket__fd(s.xsk)));
  return out;
}

void XskSet::Reclaim(Socket &s, Pool &p) {
  uint32_t idx = 0;
  uint32_t n = xsk_ring_cons__peek(&s.comp, 1024, &idx);
  uint64_t mask = ~static_cast<uint64_t>(frame_size_ - 1);
  for (uint32_t i = 0; i < n && *p.count < p.capacity; i++) {
    p.entries[(*p.count)++] = static_cast<uint32_t>(*xsk_ring_cons__comp_addr(&s.comp, idx + i) & mask);
  }
  if (n) xsk_ring_cons__release(&s.comp, n);
}

void XskSet::Refill(Socket &s, Pool &p) {
  uint32_t want = fill_size_ > s.fill_held ? fill_size_ - s.fill_held : 0;
  if (want > *p.count) want = *p.count;
  if (!want) return;
  uint32_t idx = 0;
  uint32_t got = xsk_ring_prod__reserve(&s.fill, want, &idx);
  for (uint32_t i = 0; i < got; i++) *xsk_ring_prod__fill_addr(&s.fill, idx + i) = p.entries[--(*p.count)];
  if (got) {
    xsk_ring_prod__submit(&s.fill, got);
    s.fill_held += got;
  }
}

// receive(descOffset, max): completions back to the pool, the pool into the fill rings, then
// up to max rx descriptors written at descOffset. Returns how many.
Napi::Value XskSet::Receive(const Napi::CallbackInfo &info) {
  uint32_t at = info[0].As<Napi::Number>().Uint32Value();
  uint32_t max = info[1].As<Napi::Number>().Uint32Value();
  if (at + static_cast<uint64_t>(max) * sizeof(xdp_desc) > memory_bytes_) max = 0;
  auto *out = reinterpret_cast<xdp_desc *>(memory_ + at);
  Pool p = pool();
  uint32_t total = 0;
  for (uint32_t k = 0; k < sockets_.size(); k++) {
    Socket &s = sockets_[k];
    Reclaim(s, p);
    Refill(s, p);
    uint32_t idx = 0;
    uint32_t n = total < max ? xsk_ring_cons__peek(&s.rx, max - total, &idx) : 0;
    for (uint32_t i = 0; i < n; i++) {
      const xdp_desc *d = xsk_ring_cons__rx_desc(&s.rx, idx + i);
      out[total].addr = d->addr;
      out[total].len = d->len;
      out[total].options = k;
      total++;
    }
    if (n) {
      xsk_ring_cons__release(&s.rx, n);
      s.fill_held -= n;
    }
    // with need_wakeup, a driver that found the fill ring empty waits for a kick; only an idle
    // socket needs one (as xdpsock does it), not one that is receiving
    if (!n && xsk_ring_prod__needs_wakeup(&s.fill)) {
      recvfrom(xsk_socket__fd(s.xsk), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    }
  }
  return Napi::Number::New(info.Env(), total);
}

// transmit(descOffset, n): n tx descriptors (options = socket index) go to their sockets' tx
// rings; a frame that finds no room goes back to the pool. Returns how many were queued.
Napi::Value XskSet::Transmit(const Napi::CallbackInfo &info) {
  uint32_t at = info[0].As<Napi::Number>().Uint32Value();
  uint32_t n = info[1].As<Napi::Number>().Uint32Value();
  if (at + static_cast<uint64_t>(n) * sizeof(xdp_desc) > memory_bytes_) n = 0;
  const auto *in = reinterpret_cast<const xdp_desc *>(memory_ + at);
  Pool p = pool();
  uint64_t mask = ~static_cast<uint64_t>(frame_size_ - 1);
  uint32_t queued = 0;
  for (uint32_t k = 0; k < sockets_.size(); k++) {
    Socket &s = sockets_[k];
    uint32_t mine = 0;
    for (uint32_t i = 0; i < n; i++) mine += in[i].options == k;
    if (!mine) continue;
    uint32_t idx = 0;
    uint32_t got = xsk_ring_prod__reserve(&s.tx, mine, &idx);
    uint32_t put = 0;
    for (uint32_t i = 0; i < n; i++) {
      if (in[i].options != k) continue;
      if (put < got) {
        xdp_desc *d = xsk_ring_prod__tx_desc(&s.tx, idx + put++);
        d->addr = in[i].addr;
        d->len = in[i].len;
        d->options = 0;
      } else {
        s.tx_dropped++;
        if (*p.count < p.capacity) p.entries[(*p.count)++] = static_cast<uint32_t>(in[i].addr & mask);
      }
    }
    if (got) {
      xsk_ring_prod__submit(&s.tx, got);
      queued += got;
      if (xsk_ring_prod__needs_wakeup(&s.tx)) sendto(xsk_socket__fd(s.xsk), nullptr, 0, MSG_DONTWAIT, nullptr, 0);
    }
  }
  for (uint32_t i = 0; i < n; i++) {
    if (in[i].options >= sockets_.size() && *p.count < p.capacity) {
      p.entries[(*p.count)++] = static_cast<uint32_t>(in[i].addr & mask);
    }
  }
  return Napi::Number::New(info.Env(), queued);
}

// wait(timeoutMs, extraFds?): poll() on every socket and on the caller's other fds; > 0 when
// one of them has something to read.
Napi::Value XskSet::Wait(const Napi::CallbackInfo &info) {
  int timeout = info[0].As<Napi::Number>().Int32Value();
  pollfd fds[kMaxSockets + 8];
  nfds_t n = 0;
  for (Socket &s : sockets_) fds[n++] = pollfd{xsk_socket__fd(s.xsk), POLLIN, 0};
  if (info.Length() > 1 && info[1].IsArray()) {
    Napi::Array extra = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < extra.Length() && i < 8; i++) {
      fds[n++] = pollfd{extra.Get(i).As<Napi::Number>().Int32Value(), POLLIN, 0};
    }
  }
  int r = poll(fds, n, timeout);
  return Napi::Number::New(info.Env(), r < 0 ? 0 : r);
}

// stats(index): the kernel's XDP_STATISTICS for one socket, plus our own tx drops.
Napi::Value XskSet::Stats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t k = info[0].As<Napi::Number>().Uint32Value();
  if (k >= sockets_.size()) return XskFail(env, "xsk stats", ENOENT);
  xdp_statistics st{};
  socklen_t len = sizeof(st);
  if (getsockopt(xsk_socket__fd(sockets_[k].xsk), SOL_XDP, XDP_STATISTICS, &st, &len)) {
    return XskFail(env, "xsk stats", errno);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("rxDropped", Napi::Number::New(env, st.rx_dropped));
  o.Set("rxInvalid", Napi::Number::New(env, st.rx_invalid_descs));
  o.Set("txInvalid", Napi::Number::New(env, st.tx_invalid_descs));
  o.Set("rxRingFull", Napi::Number::New(env, st.rx_ring_full));
  o.Set("fillRingEmpty", Napi::Number::New(env, st.rx_fill_ring_empty_descs));
  o.Set("txRingEmpty", Napi::Number::New(env, st.tx_ring_empty_descs));
  o.Set("txNoRoom", Napi::Number::New(env, sockets_[k].tx_dropped));
  return o;
}

void XskSet::Close() {
  for (Socket &s : sockets_) xsk_socket__delete(s.xsk);
  sockets_.clear();
  if (umem_) xsk_umem__delete(umem_);
  umem_ = nullptr;
  if (!memory_ref_.IsEmpty()) memory_ref_.Reset();
}

Napi::Value XskSet::CloseJs(const Napi::CallbackInfo &info) {
  Close();
  return info.Env().Undefined();
}

Napi::Function XskSet::Define(Napi::Env env) {
  return DefineClass(env, "XskSet",
                     {InstanceMethod("add", &XskSet::Add), InstanceMethod("receive", &XskSet::Receive),
                      InstanceMethod("transmit", &XskSet::Transmit), InstanceMethod("wait", &XskSet::Wait),
                      InstanceMethod("stats", &XskSet::Stats), InstanceMethod("close", &XskSet::CloseJs)});
}

}  // namespace

void InitXsk(Napi::Env env, Napi::Object exports) { exports.Set("XskSet", XskSet::Define(env)); }
