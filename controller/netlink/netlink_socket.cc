#include "netlink/netlink_socket.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace portway::netlink {
namespace {
// MNL_SOCKET_BUFFER_SIZE is 8 KiB (or the page size): enough for link dumps of small lab
// namespaces; a dump simply takes more reads when larger.
constexpr std::size_t kBufferSize = 32768;

struct Callback {
  const std::function<void(const nlmsghdr*)>* each;
};

int on_message(const nlmsghdr* nlh, void* data) {
  auto* cb = static_cast<Callback*>(data);
  if (cb->each) (*cb->each)(nlh);
  return MNL_CB_OK;
}
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
  nlh->nlmsg_seq = ++seq_;
  build(nlh);
  exchange(nlh, "netlink dump", &each);
}

void RouteSocket::exchange(nlmsghdr* msg, const std::string& what,
                           const std::function<void(const nlmsghdr*)>* each) {
  const std::uint32_t seq = msg->nlmsg_seq;
  if (mnl_socket_sendto(sock_, msg, msg->nlmsg_len) < 0) throw NetlinkError(what, errno);
  Callback cb{each};
  while (true) {
    const ssize_t n = mnl_socket_recvfrom(sock_, buf_.get(), kBufferSize);
    if (n < 0) throw NetlinkError(what, errno);
    // mnl_cb_run turns an NLMSG_ERROR with a non-zero code into -1 + errno, and returns
    // MNL_CB_STOP on the ack (error 0) or NLMSG_DONE.
    const int ret = mnl_cb_run(buf_.get(), static_cast<std::size_t>(n), seq, port_id_,
                               on_message, &cb);
    if (ret < 0) throw NetlinkError(what, errno);
    if (ret == MNL_CB_STOP) return;
  }
}

}  // namespace portway::netlink
