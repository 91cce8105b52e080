// A netlink socket (libmnl; NETLINK_ROUTE unless told otherwise, e.g. NETLINK_SOCK_DIAG) bound
// to the network namespace that was current when it was opened, with request/ack handling that
// turns kernel errors into exceptions naming the step.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "errors/error.h"

struct mnl_socket;
struct nlmsghdr;

namespace portway::netlink {

class NetlinkError : public Error {
 public:
  NetlinkError(const std::string& what, int err);
  int error() const { return err_; }

 private:
  int err_;
};

class RouteSocket {
 public:
  RouteSocket();  // opens and binds in the current network namespace
  explicit RouteSocket(int protocol);
  ~RouteSocket();
  RouteSocket(const RouteSocket&) = delete;
  RouteSocket& operator=(const RouteSocket&) = delete;

  // Fills a request in a buffer owned by the socket; `build` gets the header with type, flags
  // (NLM_F_REQUEST | NLM_F_ACK | extra_flags) and sequence already set.
  void request(std::uint16_t type, std::uint16_t extra_flags, const std::string& what,
               const std::function<void(nlmsghdr*)>& build);

  // A dump request; `each` is called for every message of the answer. A dump the kernel
  // flags as interrupted by a concurrent change (NLM_F_DUMP_INTR) is started again, a few
  // times at most; `each` sees the messages of one dump only.
  void dump(std::uint16_t type, const std::function<void(nlmsghdr*)>& build,
            const std::function<void(const nlmsghdr*)>& each);

  // Dumps started again so far because the kernel flagged them as interrupted.
  std::size_t interrupted_dumps() const { return interrupted_dumps_; }

 private:
  // Sends `msg` and reads its whole answer; true when the kernel flagged it as interrupted.
  bool exchange(nlmsghdr* msg, const std::string& what,
                const std::function<void(const nlmsghdr*)>* each);
  mnl_socket* sock_;
  std::uint32_t port_id_;
  std::uint32_t seq_;
  std::unique_ptr<char[]> buf_;
  std::size_t interrupted_dumps_ = 0;
};

}  // namespace portway::netlink
