// One epoll set per worker holds every socket the socket data path reads (the two UDP sockets,
// the TCP listener, client connections, backend connections), so that a burst asks the kernel
// once what is ready instead of once per kind of socket. An event's tag says whose it is.
#pragma once

#include <cstdint>

namespace kvlb {

enum class EventOwner : uint32_t { kClientUdp = 1, kBackendUdp = 2, kStreams = 3, kBackendConns = 4 };

inline uint64_t EventTag(EventOwner owner, uint32_t id) { return (uint64_t(owner) << 32) | id; }
inline EventOwner TagOwner(uint64_t tag) { return EventOwner(uint32_t(tag >> 32)); }
inline uint32_t TagId(uint64_t tag) { return uint32_t(tag); }

}  // namespace kvlb
