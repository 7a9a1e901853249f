// One worker's queues (queue q on each of its ports) moving bursts between mbufs and the
// frames in the core's memory. Frames come from, and go back to, the same pool that the AF_XDP
// path uses (u32 count, u32 capacity, u32 frame offsets), and descriptors are struct xdp_desc,
// so the core's frame layer cannot tell the two drivers apart. One copy per frame each way: the
// PMDs fill their own mbufs.
#include "dpdk.h"

#include <linux/if_xdp.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <vector>

namespace {

constexpr uint32_t kBurst = 32;
// Room in front of a received frame, as XDP leaves, so a header can grow in place.
constexpr uint32_t kHeadroom = 256;

struct Queue {
  uint16_t port;
  uint16_t queue;
  rte_mempool *pool;
};

class FrameQueues : public Napi::ObjectWrap<FrameQueues> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "FrameQueues",
        {InstanceMethod("receive", &FrameQueues::Receive), InstanceMethod("transmit", &FrameQueues::Transmit),
         InstanceMethod("stats", &FrameQueues::Stats)});
  }

  explicit FrameQueues(const Napi::CallbackInfo &info) : Napi::ObjectWrap<FrameQueues>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || !info[1].IsObject() || !info[2].IsArray()) {
      DpdkFail(env, "frame queues: (memory, layout, queues)", EINVAL);
      return;
    }
    auto memory = info[0].As<Napi::Uint8Array>();
    memory_ref_ = Napi::Persistent(memory);
    memory_ = memory.Data();
    bytes_ = memory.ByteLength();
    Napi::Object o = info[1].As<Napi::Object>();
    umem_ = o.Get("umemOffset").As<Napi::Number>().Uint32Value();
    umem_bytes_ = o.Get("umemBytes").As<Napi::Number>().Uint32Value();
    frame_ = o.Get("frameSize").As<Napi::Number>().Uint32Value();
    pool_ = o.Get("poolOffset").As<Napi::Number>().Uint32Value();
    if (frame_ < 2048 || (frame_ & (frame_ - 1)) || static_cast<uint64_t>(umem_) + umem_bytes_ > bytes_ ||
        static_cast<uint64_t>(pool_) + 8 > bytes_) {
      DpdkFail(env, "frame queues: the frames must lie inside the memory, 2048 bytes or more, a power of 2", EINVAL);
      return;
    }
    auto list = info[2].As<Napi::Array>();
    for (uint32_t i = 0; i < list.Length(); i++) {
      Napi::Object q = list.Get(i).As<Napi::Object>();
      uint16_t port = static_cast<uint16_t>(q.Get("port").As<Napi::Number>().Uint32Value());
      uint16_t queue = static_cast<uint16_t>(q.Get("queue").As<Napi::Number>().Uint32Value());
      rte_mempool *mp = PortPool(port);
      if (!mp) {
        DpdkFail(env, "frame queues: port " + std::to_string(port) + " is not open", ENODEV);
        return;
      }
      queues_.push_back({port, queue, mp});
    }
  }

 private:
  uint32_t *PoolCount() { return reinterpret_cast<uint32_t *>(memory_ + pool_); }
  uint32_t *PoolEntries() { return PoolCount() + 2; }

  // receive(descOff, max): rx bursts from every queue into free frames; writes xdp_desc with
  // options = the queue's index in this set. Returns the frames written.
  Napi::Value Receive(const Napi::CallbackInfo &info) {
    uint32_t at = info[0].As<Napi::Number>().Uint32Value();
    uint32_t max = info[1].As<Napi::Number>().Uint32Value();
    if (at + static_cast<uint64_t>(max) * sizeof(xdp_desc) > bytes_) max = 0;
    auto *out = reinterpret_cast<xdp_desc *>(memory_ + at);
    uint32_t *count = PoolCount();
    uint32_t *free_frames = PoolEntries();
    uint32_t got = 0;
    rte_mbuf *m[kBurst];
    for (uint32_t k = 0; k < queues_.size() && got < max; k++) {
      const Queue &q = queues_[k];
      uint16_t want = static_cast<uint16_t>(max - got < kBurst ? max - got : kBurst);
      uint16_t n = rte_eth_rx_burst(q.port, q.queue, m, want);
      for (uint16_t i = 0; i < n; i++) {
        uint32_t len = rte_pktmbuf_pkt_len(m[i]);
        if (len + kHeadroom > frame_) {
          too_long_++;
          continue;
        }
        if (*count == 0) {
          no_frame_++;
          continue;
        }
        uint32_t frame = free_frames[--*count];
        uint8_t *dst = memory_ + umem_ + frame + kHeadroom;
        for (rte_mbuf *seg = m[i]; seg; seg = seg->next) {
          memcpy(dst, rte_pktmbuf_mtod(seg, const uint8_t *), seg->data_len);
          dst += seg->data_len;
        }
        out[got].addr = frame + kHeadroom;
        out[got].len = len;
        out[got].options = k;
        got++;
      }
      rte_pktmbuf_free_bulk(m, n);
    }
    return Napi::Number::New(info.Env(), got);
  }

  // transmit(descOff, n): each xdp_desc (options = queue index) copied into an mbuf and sent;
  // its frame goes back to the pool at once. Returns the frames the ports took.
  Napi::Value Transmit(const Napi::CallbackInfo &info) {
    uint32_t at = info[0].As<Napi::Number>().Uint32Value();
    uint32_t n = info[1].As<Napi::Number>().Uint32Value();
    if (at + static_cast<uint64_t>(n) * sizeof(xdp_desc) > bytes_) n = 0;
    const auto *in = reinterpret_cast<const xdp_desc *>(memory_ + at);
    uint32_t *count = PoolCount();
    uint32_t capacity = PoolCount()[1];
    uint32_t *free_frames = PoolEntries();
    uint64_t mask = ~static_cast<uint64_t>(frame_ - 1);
    uint32_t sent = 0;
    rte_mbuf *m[kBurst];
    uint32_t pick[kBurst];
    for (uint32_t k = 0; k < queues_.size(); k++) {
      const Queue &q = queues_[k];
      // this queue's descriptors, a burst at a time: one bulk mbuf allocation, one tx burst
      for (uint32_t i = 0; i < n;) {
        uint32_t picked = 0;
        for (; i < n && picked < kBurst; i++) {
          if (in[i].options == k) pick[picked++] = i;
        }
        if (picked == 0) break;
        bool have = rte_pktmbuf_alloc_bulk(q.pool, m, picked) == 0;
        uint16_t ready = 0;
        for (uint32_t j = 0; j < picked; j++) {
          const xdp_desc &d = in[pick[j]];
          bool fits = d.addr + d.len <= umem_bytes_;
          char *dst = have && fits ? rte_pktmbuf_append(m[j], static_cast<uint16_t>(d.len)) : nullptr;
          if (dst) {
            memcpy(dst, memory_ + umem_ + d.addr, d.len);
            m[ready++] = m[j];
          } else {
            if (have) rte_pktmbuf_free(m[j]);
            no_mbuf_++;
          }
          if (fits && *count < capacity) free_frames[(*count)++] = static_cast<uint32_t>(d.addr & mask);
        }
        uint16_t s = ready ? rte_eth_tx_burst(q.port, q.queue, m, ready) : 0;
        if (s < ready) {
          tx_dropped_ += ready - s;
          rte_pktmbuf_free_bulk(m + s, ready - s);
        }
        sent += s;
      }
    }
    return Napi::Number::New(info.Env(), sent);
  }

  Napi::Value Stats(const Napi::CallbackInfo &info) {
    auto r = Napi::Object::New(info.Env());
    r.Set("rxNoFrame", static_cast<double>(no_frame_));
    r.Set("rxTooLong", static_cast<double>(too_long_));
    r.Set("txNoMbuf", static_cast<double>(no_mbuf_));
    r.Set("txDropped", static_cast<double>(tx_dropped_));
    return r;
  }

  Napi::Reference<Napi::Uint8Array> memory_ref_;
  uint8_t *memory_ = nullptr;
  size_t bytes_ = 0;
  uint32_t umem_ = 0, umem_bytes_ = 0, frame_ = 0, pool_ = 0;
  std::vector<Queue> queues_;
  uint64_t no_frame_ = 0, too_long_ = 0, no_mbuf_ = 0, tx_dropped_ = 0;
};

}  // namespace

Napi::Function DefineFrameQueues(Napi::Env env) { return FrameQueues::Define(env); }
