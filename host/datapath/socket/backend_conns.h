// Backends over TCP for the socket data path: a small pool of persistent connections to each
// backend, with requests pipelined on them. The core still speaks datagrams: it queues each
// request to a backend as a memcached UDP frame (request id in the header), and this side
// sends the request without the header, followed by a marker unless its reply ends itself
// (reply_frame.h), and remembers the id. Each reply, cut where it ends, is laid into the core's reply area behind a
// frame header carrying that id again, as if it were one datagram from the backend, once per
// burst. A reply may be as large as the area (values past a datagram's 64 KB work).
//
// Each backend has `pool` connections for ASCII and meta requests and as many for binary ones
// (memcached reads a connection as one or the other by its first byte). The connection for a
// request is chosen by its key (the frame header's reserved field, which
// the core fills with the key's hash), so requests for one key keep their order at the backend.
// A connection that fails or sends what cannot be framed is closed; the requests waiting on it
// time out in the core as lost datagrams do, and it is opened again after a backoff that grows
// from 50 ms to 5 s.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "reply_frame.h"
#include "send_batch.h"

namespace kvlb {

struct BackendDesc {
  uint32_t off, len, addr, flags;
};

struct BackendCounters {
  uint64_t connects = 0, failures = 0, lost = 0, unsent = 0, badReplies = 0, replies = 0, bytesIn = 0, bytesOut = 0;
};

class BackendConns {
 public:
  BackendConns() = default;
  ~BackendConns();
  BackendConns(const BackendConns &) = delete;
  BackendConns &operator=(const BackendConns &) = delete;

  // Replies go into [area, area + areaBytes) of `memory`; connections join `epoll`
  // (event_tags.h), which the caller owns and reads.
  void Open(int epoll, uint8_t *memory, uint32_t area, uint32_t areaBytes);
  // The backends reached over TCP, as (sin_addr, port) pairs, with `pool` connections each;
  // connecting starts at once.
  void Set(const std::vector<uint32_t> &pairs, uint32_t pool, uint64_t now);
  bool On() const { return epoll_ >= 0 && !backends_.empty(); }
  // Whether Open gave it a place for replies.
  bool Opened() const { return epoll_ >= 0; }
  // Whether datagrams to this backend go over TCP.
  bool Has(uint32_t addr, uint16_t port) const;
  // Queues one request datagram (a memcached UDP frame header, then the request).
  void Out(uint32_t addr, uint16_t port, const uint8_t *datagram, uint32_t len, uint64_t now);
  // Writes what can be written, reconnects what is due. With a batch, the writes join it, and
  // Sent hears how each went once it has run.
  void Flush(uint64_t now, SendBatch *batch = nullptr);
  // The result of a write Flush put in a batch (its tag's id): bytes written, or -errno.
  void Sent(uint32_t tag, int64_t result, uint64_t now);
  // One epoll event of a connection: connected, readable, writable.
  void Event(uint32_t tag, uint32_t events, uint64_t now);
  // Writes a descriptor for each whole reply read, laid into the area; returns how many.
  uint32_t Collect(BackendDesc *desc, uint32_t room, uint64_t now);
  void Close();
  const BackendCounters &Counters() const { return counters_; }
  // Connections open now.
  uint32_t Connected() const;

 private:
  // How the reply to a request is found in the stream (reply_frame.h).
  enum class Framing : uint8_t { kAsciiMarker, kBinaryMarker, kRetrieval, kGetPart };
  struct Waiting {
    uint16_t id;
    Framing framing;
    bool last = true;    // kGetPart: the last key of its line
    uint8_t keyLen = 0;  // kGetPart: its key, at keyAt in the connection's key stream
    uint64_t keyAt = 0;
  };
  struct Conn {
    int fd = -1;
    bool connecting = false;
    std::string out;  // not yet written
    size_t outAt = 0;
    std::string in;  // read, not yet laid out
    std::deque<Waiting> waiting;
    uint64_t retryAt = 0;
    uint64_t backoffNs = 0;
    uint32_t mask = 0;
    bool parse = false;  // has bytes that may hold a whole reply
    // the keys of the merged gets waiting, from absolute position keysBase on; those before
    // keysDone belong to requests answered
    std::string keys;
    uint64_t keysBase = 0, keysDone = 0;
    // the get line at the end of `out` that more keys may join (npos: none), and its verb
    size_t openLine = std::string::npos;
    size_t openVerb = 0;
    uint32_t openKeys = 0;
  };
  struct Backend {
    uint32_t addr;
    uint16_t port;
    std::vector<Conn> conns;
  };

  void Connect(uint32_t b, uint32_t c, uint64_t now);
  void Fail(uint32_t b, uint32_t c, uint64_t now, bool bad);
  void Write(uint32_t b, uint32_t c, uint64_t now);
  bool Wrote(uint32_t b, uint32_t c, int64_t result, uint64_t now);
  void Read(uint32_t b, uint32_t c, uint64_t now);
  void Watch(uint32_t b, uint32_t c);
  void Control(int op, int fd, uint32_t events, uint32_t b, uint32_t c);
  bool JoinGet(Conn &conn, uint16_t id, const uint8_t *request, uint32_t size);
  // A reply found: `copy` bytes of the stream, then END when `end`; `used` bytes taken.
  struct Cut {
    ReplyEnd::Kind kind;
    size_t copy = 0;
    bool end = false;
    size_t used = 0;
  };
  Cut CutReply(const Conn &conn, const Waiting &w, const uint8_t *p, size_t n, size_t most) const;
  static uint32_t Tag(uint32_t b, uint32_t c) { return (b << 16) | c; }

  int epoll_ = -1;
  uint8_t *memory_ = nullptr;
  uint32_t area_ = 0, areaBytes_ = 0;
  std::vector<Backend> backends_;
  std::vector<char> scratch_;  // what one recv reads, before it joins a connection's bytes
  BackendCounters counters_;
};

}  // namespace kvlb
