// Client connections over TCP for the socket data path. The core frames and serves the
// requests (DK_STREAM); this side only moves bytes: it reads what each connection sent, lays the
// bytes the core has not taken yet into the core's stream area once per burst, and puts each
// request's reply back on its connection in the order of the requests, from the numbered
// replies and "done" markers the core queues (OUT_STREAM, OUT_STREAM_DONE).
//
// Limits: a bounded number of connections, requests in flight per connection, bytes buffered
// per connection in either direction (a connection whose replies are not read stops being
// read), and an idle timeout.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "send_batch.h"

namespace kvlb {

struct StreamDesc {
  uint32_t off, len, aux, flags;
};

struct StreamLimits {
  uint32_t maxConnections = 4096;
  uint32_t inFlight = 128;                   // requests of one connection not yet answered in full
  uint32_t inBytes = 256 * 1024;             // bytes read and not yet taken by the core
  uint32_t outBytes = 4u << 20;              // reply bytes not yet written to the socket
  uint64_t idleNs = 300ull * 1000000000ull;  // 0: never
};

struct StreamCounters {
  uint64_t accepted = 0, refused = 0, closed = 0, idleClosed = 0, notAllowed = 0, bytesIn = 0, bytesOut = 0;
};

class StreamConns {
 public:
  StreamConns() = default;
  ~StreamConns();
  StreamConns(const StreamConns &) = delete;
  StreamConns &operator=(const StreamConns &) = delete;

  // Listens on addr:port (TCP) and lays bytes into [area, area + areaBytes) of `memory`. Its
  // sockets join `epoll` (event_tags.h), which the caller owns and reads. Returns 0, or an errno.
  int Open(int epoll, const std::string &addr, int port, bool shared, bool freebind, uint8_t *memory, uint32_t area,
           uint32_t areaBytes, const StreamLimits &limits);
  bool On() const { return listen_ >= 0; }
  int Port() const;

  // One epoll event of the listener (accepts) or of a connection (reads, writes).
  void Event(uint32_t id, uint32_t events, uint64_t now);
  // Writes up to `room` descriptors at `desc` for the connections with bytes the core has not
  // seen; returns how many.
  uint32_t Collect(StreamDesc *desc, uint32_t room, uint64_t now);
  // The core's results for the descriptors Receive wrote last, at `tx` (same slots).
  void Taken(const StreamDesc *tx);
  // One out descriptor of kind OUT_STREAM or OUT_STREAM_DONE.
  void Out(const StreamDesc &d, const uint8_t *memory, size_t memorySize);
  // Writes what can be written, closes what is due. With a batch, the writes join it, and
  // Sent hears how each went once it has run.
  void Flush(uint64_t now, SendBatch *batch = nullptr);
  // The result of a write Flush put in a batch: bytes written, or -errno.
  void Sent(uint32_t id, int64_t result);
  void Close();
  // Only sources within these (network, mask) pairs, as sin_addr holds them; empty: any.
  // Connections from outside `allow` are closed at accept; those from inside `admin`
  // (admin.clients) may send flush_all: the core hears so with each of their requests.
  void Allow(std::vector<uint32_t> allow, std::vector<uint32_t> admin) {
    allow_ = std::move(allow);
    admin_ = std::move(admin);
  }
  const StreamCounters &Counters() const { return counters_; }
  uint32_t Count() const { return uint32_t(conns_.size()); }

 private:
  // A piece of a reply that is put in order before it is written: its place and its bytes.
  struct Piece {
    uint16_t order;
    uint32_t at, len;
  };
  struct Reply {
    uint16_t seq;
    bool done;
    std::string bytes;
    // A multi-key get's pieces, each with its place in the reply (assembly/proxy/reply-order.ts):
    // none of the reply is written until it is done and in order. Empty for any other reply.
    std::vector<Piece> pieces;
  };
  struct Conn {
    int fd = -1;
    std::string in;         // read, not yet taken
    uint64_t skip = 0;      // bytes still to drop (a request too large)
    uint16_t nextSeq = 0;   // the number of the next request the core takes
    bool fresh = false;     // bytes arrived since the core last saw the connection
    bool closing = false;   // close once every reply is written
    bool peerGone = false;  // the client closed its side
    // the requests not yet answered in full, in order; the front one's bytes go straight to
    // `ready`, as do those of each reply that comes to the front
    std::deque<Reply> replies;
    std::string ready;   // in order, to be written from readyAt on
    size_t readyAt = 0;  // bytes of `ready` written
    size_t outBytes = 0;
    uint64_t lastActive = 0;
    bool wantWrite = false;
    uint32_t mask = 0;     // the epoll events asked for
    bool admin = false;    // its peer is in admin.clients
    bool touched = false;  // in touched_: to be written at the next flush
  };

  void Accept(uint64_t now);
  void Read(uint32_t id, Conn &c, uint64_t now);
  void Write(uint32_t id, Conn &c);
  void Took(Conn &c, size_t bytes);
  void Settle(uint32_t id, Conn &c, int64_t result);
  void Drop(uint32_t id);
  void Touch(uint32_t id, Conn &c);
  static void PutInOrder(Reply &r);
  static void Promote(Conn &c);
  void Watch(uint32_t id, Conn &c);
  bool Reading(const Conn &c) const;
  int Control(int op, int fd, uint32_t events, uint32_t id);

  int listen_ = -1, epoll_ = -1;
  uint8_t *memory_ = nullptr;
  uint32_t area_ = 0, areaBytes_ = 0;
  StreamLimits limits_;
  StreamCounters counters_;
  uint32_t nextId_ = 1;
  std::unordered_map<uint32_t, Conn> conns_;
  std::vector<uint32_t> passed_;  // the connection of each descriptor Receive wrote last
  std::vector<uint32_t> touched_;
  std::vector<uint32_t> ready_, later_;  // connections with bytes the core has not seen
  std::vector<uint32_t> allow_, admin_;
  uint64_t nextSweep_ = 0;
};

}  // namespace kvlb
