#include "netlink/answers.h"

#include <libmnl/libmnl.h>
#include <linux/netlink.h>

#include <cerrno>

namespace portway::netlink {

void read_answers(const void* buf, std::size_t len, std::uint32_t seq, std::uint32_t port, Answers& a,
                  const std::function<void(const nlmsghdr*)>& each) {
  int left = static_cast<int>(len);
  for (auto* nlh = static_cast<const nlmsghdr*>(buf); !a.done && mnl_nlmsg_ok(nlh, left);
       nlh = mnl_nlmsg_next(nlh, &left)) {
    if (!mnl_nlmsg_seq_ok(nlh, seq) || !mnl_nlmsg_portid_ok(nlh, port)) continue;
    if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) a.interrupted = true;
    switch (nlh->nlmsg_type) {
      case NLMSG_NOOP:
      case NLMSG_OVERRUN:
        break;
      case NLMSG_DONE:
        a.done = true;
        break;
      case NLMSG_ERROR: {
        a.done = true;
        if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
          a.error = EBADMSG;
          break;
        }
        const int code = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
        a.error = code < 0 ? -code : code;
        break;
      }
      default:
        if (nlh->nlmsg_type >= NLMSG_MIN_TYPE) each(nlh);
    }
  }
}

Answers receive_answers(mnl_socket* sock, char* buf, std::size_t size, std::uint32_t seq, std::uint32_t port,
                        const std::function<void(const nlmsghdr*)>& each) {
  Answers a;
  while (!a.done) {
    const ssize_t n = mnl_socket_recvfrom(sock, buf, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      a.error = errno;
      a.done = true;
      break;
    }
    read_answers(buf, static_cast<std::size_t>(n), seq, port, a, each);
  }
  return a;
}

}  // namespace portway::netlink
