// The sends of one burst to TCP connections, made in one system call through io_uring.
//
// Each send to a connection on the loopback runs the receiver's side and wakes it; the kernel
// (built with preemption "none", as servers are) hands the CPU to the woken task when the sender
// returns to user space. A burst that sent with one send(2) per connection was preempted after
// nearly every one. Submitted together, the sends wake their peers once and return once.
//
// Every send carries MSG_DONTWAIT, so io_uring completes it inline, as send(2) would return: the
// bytes taken, -EAGAIN when the socket buffer is full, or another -errno. A kernel or sandbox
// without io_uring (io_uring_disabled, a seccomp profile) gets the same results from a send(2)
// each. KVLB_IO_URING=0 in the environment asks for that too (to compare, or to rule io_uring
// out).
#pragma once

#include <liburing.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace kvlb {

class SendBatch {
 public:
  SendBatch();
  ~SendBatch();
  SendBatch(const SendBatch &) = delete;
  SendBatch &operator=(const SendBatch &) = delete;

  // Queues a send of [data, data + len) on fd. The bytes must stay put until Run.
  void Add(int fd, const void *data, size_t len, uint64_t tag);
  // Makes the queued sends and calls done(tag, result) for each, in the order they were added:
  // result is the bytes sent or -errno.
  template <typename Done>
  void Run(Done done) {
    if (sends_.empty()) return;
    results_.resize(sends_.size());
    writes_ += sends_.size();
    if (uring_) {
      RunUring();
    } else {
      SendPlain(0);
    }
    for (size_t i = 0; i < sends_.size(); i++) done(sends_[i].tag, results_[i]);
    sends_.clear();
  }
  // Sends made, and the system calls that made them.
  uint64_t Writes() const { return writes_; }
  uint64_t Calls() const { return calls_; }

 private:
  struct Send {
    int fd;
    const void *data;
    size_t len;
    uint64_t tag;
  };
  void RunUring();
  // The sends from `from` on, a send(2) each.
  void SendPlain(size_t from);

  io_uring ring_{};
  bool uring_ = false;
  std::vector<Send> sends_;
  std::vector<int64_t> results_;
  uint64_t writes_ = 0, calls_ = 0;
};

}  // namespace kvlb
