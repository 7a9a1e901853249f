// Who a core's output may go to, checked outside the core: a module is code an operator can
// swap in, so the host, not the module, says where datagrams go. A datagram goes out only to a
// backend, or to a client that sent this socket a datagram within the window.
#pragma once

#include <cstdint>
#include <ctime>
#include <vector>

class SendGuard {
 public:
  // Turns the guard on with these backends (address as in sin_addr, port in host order).
  void Set(const std::vector<uint64_t> &backends, uint64_t windowNs) {
    backends_ = backends;
    windowNs_ = windowNs;
    on_ = true;
    if (slots_.empty()) slots_.assign(kSlots, Slot{0, 0});
  }

  bool On() const { return on_; }

  static uint64_t Key(uint32_t addr, uint16_t port) { return (uint64_t(addr) << 16) | port | (uint64_t(1) << 63); }

  static uint64_t Now() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
  }

  // A client's datagram arrived from addr:port.
  void Saw(uint32_t addr, uint16_t port, uint64_t now) {
    if (!on_) return;
    uint64_t key = Key(addr, port);
    Slot *bucket = Bucket(key);
    Slot *oldest = bucket;
    for (int i = 0; i < kWays; i++) {
      if (bucket[i].key == key) {
        bucket[i].seen = now;
        return;
      }
      if (bucket[i].seen < oldest->seen) oldest = &bucket[i];
    }
    *oldest = Slot{key, now};
  }

  bool MayReachClient(uint32_t addr, uint16_t port, uint64_t now) const {
    if (!on_) return true;
    uint64_t key = Key(addr, port);
    const Slot *bucket = Bucket(key);
    for (int i = 0; i < kWays; i++) {
      if (bucket[i].key == key) return now - bucket[i].seen <= windowNs_;
    }
    return false;
  }

  bool MayReachBackend(uint32_t addr, uint16_t port) const {
    if (!on_) return true;
    uint64_t key = Key(addr, port);
    for (uint64_t b : backends_) {
      if (b == key) return true;
    }
    return false;
  }

 private:
  struct Slot {
    uint64_t key, seen;
  };
  static constexpr int kWays = 4;
  static constexpr size_t kSlots = size_t(1) << 16;

  Slot *Bucket(uint64_t key) { return &slots_[Hash(key)]; }
  const Slot *Bucket(uint64_t key) const { return &slots_[Hash(key)]; }
  static size_t Hash(uint64_t key) { return size_t((key * 0x9e3779b97f4a7c15ull) >> 40) & (kSlots - kWays); }

  std::vector<uint64_t> backends_;
  std::vector<Slot> slots_;
  uint64_t windowNs_ = 0;
  bool on_ = false;
};
