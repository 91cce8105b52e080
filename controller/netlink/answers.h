// Reading the kernel's answer to one netlink request, message by message, as libmnl's
// mnl_cb_run does, except for one flag: NLM_F_DUMP_INTR (the kernel's table changed while it
// was being dumped). mnl_cb_run stops at the first message carrying it, with errno EINTR, and
// leaves the rest of the dump in the socket, where the next request on that socket would read
// it as its own answer. Here such a message is read like any other and the dump is marked
// interrupted, so that the caller can start it again on a clean socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

struct mnl_socket;
struct nlmsghdr;

namespace portway::netlink {

struct Answers {
  bool done = false;         // NLMSG_DONE, or NLMSG_ERROR (the ack when error is 0)
  int error = 0;             // an NLMSG_ERROR's code, as a positive errno (0: an ack)
  bool interrupted = false;  // a message carried NLM_F_DUMP_INTR: the dump may be inconsistent
};

// Reads the messages of one received buffer into `a`, calling `each` for every message of
// the answer's own types (>= NLMSG_MIN_TYPE) until the answer is done. Messages of another
// sequence number or port are skipped: they belong to an earlier exchange that was given up
// (an exception in a callback) before its end was read.
void read_answers(const void* buf, std::size_t len, std::uint32_t seq, std::uint32_t port, Answers& a,
                  const std::function<void(const nlmsghdr*)>& each);

// Receives into `buf` and reads with read_answers until the answer to `seq` is done. A receive
// the kernel fails ends the answer too, its errno in `error`; one a signal interrupted is
// retried (the answer is still to come).
Answers receive_answers(mnl_socket* sock, char* buf, std::size_t size, std::uint32_t seq, std::uint32_t port,
                        const std::function<void(const nlmsghdr*)>& each);

// How often callers start a dump the kernel flagged as interrupted before they take its last
// answer as it is (complete, possibly inconsistent: an object changed while it was dumped).
inline constexpr int kDumpAttempts = 5;

}  // namespace portway::netlink
