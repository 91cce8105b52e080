#include "netlink/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

#include "netlink/answers.h"

namespace portway::netlink {
namespace {
// MNL_SOCKET_BUFFER_SIZE is 8 KiB (or the page size): enough for link dumps of small lab
// namespaces; a dump simply takes more reads when larger.
constexpr std::size_t kBufferSize = 32768;
}  // namespace

NetlinkError::NetlinkError(const std::string& what, int err)
    : Error(kExitEnvironment, what + ": " + std::strerror(err)), err_(err) {}

RouteSocket::RouteSocket() : RouteSocket(NETLINK_ROUTE) {}

RouteSocket::RouteSocket(int protocol)
    : sock_(mnl_socket_open2(protocol, SOCK_CLOEXEC)),
      port_id_(0),
      seq_(static_cast<std::uint32_t>(time(nullptr))),
      buf_(new char[kBufferSize]) {
  if (!sock_) throw NetlinkError("netlink socket", errno);
  if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int err = errno;
    mnl_socket_close(sock_);
    throw NetlinkError("netlink bind", err);
  }
  port_id_ = mnl_socket_get_portid(sock_);
}

RouteSocket::~RouteSocket() { mnl_socket_close(sock_); }

void RouteSocket::request(std::uint16_t type, std::uint16_t extra_flags, const std::string& what,
                          const std::function<void(nlmsghdr*)>& build) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.get());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | NLM_F_ACK | extra_flags);
  nlh->nlmsg_seq = ++seq_;
  build(nlh);
  exchange(nlh, what, nullptr);
}

void RouteSocket::dump(std::uint16_t type, const std::function<void(nlmsghdr*)>& build,
                       const std::function<void(const nlmsghdr*)>& each) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf_.get());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  build(nlh);
  // The request is kept: the buffer it was built in receives the answer.
  const std::vector<char> request(buf_.get(), buf_.get() + nlh->nlmsg_len);
  // The answer is collected whole before `each` sees any of it, so that an interrupted dump
  // started again hands over one answer, not parts of two.
  std::vector<char> messages;
  const std::function<void(const nlmsghdr*)> collect = [&](const nlmsghdr* m) {
    messages.insert(messages.end(), reinterpret_cast<const char*>(m),
                    reinterpret_cast<const char*>(m) + NLMSG_ALIGN(m->nlmsg_len));
  };
  for (int attempt = 1;; ++attempt) {
    messages.clear();
    std::copy(request.begin(), request.end(), buf_.get());
    nlh = reinterpret_cast<nlmsghdr*>(buf_.get());
    nlh->nlmsg_seq = ++seq_;
    if (!exchange(nlh, "netlink dump", &collect) || attempt == kDumpAttempts) break;
    ++interrupted_dumps_;
  }
  int left = static_cast<int>(messages.size());
  for (auto* m = reinterpret_cast<const nlmsghdr*>(messages.data()); mnl_nlmsg_ok(m, left);
       m = mnl_nlmsg_next(m, &left))
    each(m);
}

bool RouteSocket::exchange(nlmsghdr* msg, const std::string& what,
                           const std::function<void(const nlmsghdr*)>* each) {
  const std::uint32_t seq = msg->nlmsg_seq;
  if (mnl_socket_sendto(sock_, msg, msg->nlmsg_len) < 0) throw NetlinkError(what, errno);
  static const std::function<void(const nlmsghdr*)> ignore = [](const nlmsghdr*) {};
  const Answers a = receive_answers(sock_, buf_.get(), kBufferSize, seq, port_id_, each ? *each : ignore);
  if (a.error != 0) throw NetlinkError(what, a.error);
  return a.interrupted;
}

}  // namespace portway::netlink
