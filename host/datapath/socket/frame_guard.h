// The send guard's view of raw frames (AF_XDP, DPDK): which endpoints a frame carries, read
// from its Ethernet, IPv4 and UDP headers, so that the frame paths obey the same rule as the
// kernel sockets. Descriptors are struct xdp_desc, addresses relative to the UMEM.
#pragma once

#include <cstdint>
#include <cstring>

struct FrameDesc {
  uint64_t addr;
  uint32_t len, options;
};

enum class FrameKind { kUdp, kArp, kOther };

struct FrameEndpoints {
  uint32_t src = 0, dst = 0;  // as in sin_addr
  uint16_t sport = 0, dport = 0;
};

inline uint16_t Be16(const uint8_t *p) { return uint16_t(p[0] << 8 | p[1]); }

// A frame is UDP only when whole headers lie inside it and it is not a fragment (a later
// fragment has no UDP header: its "ports" would be payload).
inline FrameKind ReadFrame(const uint8_t *f, uint32_t len, FrameEndpoints *e) {
  if (len < 14) return FrameKind::kOther;
  uint32_t l3 = 14;
  uint16_t type = Be16(f + 12);
  if (type == 0x8100 || type == 0x88a8) {
    if (len < 18) return FrameKind::kOther;
    type = Be16(f + 16);
    l3 = 18;
  }
  if (type == 0x0806) return FrameKind::kArp;
  if (type != 0x0800 || len < l3 + 20) return FrameKind::kOther;
  const uint8_t *ip = f + l3;
  uint32_t ihl = uint32_t(ip[0] & 0x0f) * 4;
  if ((ip[0] >> 4) != 4 || ihl < 20 || len < l3 + ihl + 8) return FrameKind::kOther;
  if ((Be16(ip + 6) & 0x3fff) != 0 || ip[9] != 17) return FrameKind::kOther;
  memcpy(&e->src, ip + 12, 4);
  memcpy(&e->dst, ip + 16, 4);
  e->sport = Be16(ip + ihl);
  e->dport = Be16(ip + ihl + 2);
  return FrameKind::kUdp;
}
