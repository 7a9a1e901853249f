// The sends of one burst in one system call: see send_batch.h.
#include "send_batch.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>

namespace kvlb {

namespace {

constexpr unsigned kEntries = 256;  // sends per submission; a larger burst takes several

}  // namespace

SendBatch::SendBatch() {
  const char *wanted = std::getenv("KVLB_IO_URING");
  if (wanted != nullptr && std::strcmp(wanted, "0") == 0) return;
  // one thread submits and reaps; completions need no interrupt of it
  unsigned flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER;
  int r = io_uring_queue_init(kEntries, &ring_, flags);
  if (r == -EINVAL) r = io_uring_queue_init(kEntries, &ring_, 0);  // a kernel before 6.0
  uring_ = r == 0;
}

SendBatch::~SendBatch() {
  if (uring_) io_uring_queue_exit(&ring_);
}

void SendBatch::Add(int fd, const void *data, size_t len, uint64_t tag) { sends_.push_back({fd, data, len, tag}); }

void SendBatch::RunUring() {
  size_t next = 0;
  while (next < sends_.size()) {
    size_t first = next;
    unsigned queued = 0;
    while (next < sends_.size() && queued < kEntries) {
      io_uring_sqe *sqe = io_uring_get_sqe(&ring_);
      if (sqe == nullptr) break;
      const Send &s = sends_[next];
      io_uring_prep_send(sqe, s.fd, s.data, s.len, MSG_DONTWAIT | MSG_NOSIGNAL);
      sqe->user_data = next;
      next++;
      queued++;
    }
    if (queued == 0) {
      SendPlain(next);
      return;
    }
    int r;
    do r = io_uring_submit_and_wait(&ring_, queued);
    while (r == -EINTR);
    calls_++;
    // EIO unless a completion says otherwise: whether a send went out is then unknown, so its
    // connection is closed rather than written twice
    for (size_t i = first; i < next; i++) results_[i] = -EIO;
    if (r < 0) {
      uring_ = false;  // the ring failed: the rest, and later bursts, by send(2)
      SendPlain(next);
      return;
    }
    unsigned got = 0;
    while (got < queued) {
      io_uring_cqe *cqe = nullptr;
      // each completed inline (MSG_DONTWAIT), so this does not block
      int w = io_uring_wait_cqe(&ring_, &cqe);
      if (w == -EINTR) continue;
      if (w < 0 || cqe == nullptr) break;
      if (cqe->user_data < results_.size()) results_[cqe->user_data] = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
      got++;
    }
  }
}

void SendBatch::SendPlain(size_t from) {
  for (size_t i = from; i < sends_.size(); i++) {
    ssize_t w = send(sends_[i].fd, sends_[i].data, sends_[i].len, MSG_DONTWAIT | MSG_NOSIGNAL);
    results_[i] = w < 0 ? -errno : w;
    calls_++;
  }
}

}  // namespace kvlb
