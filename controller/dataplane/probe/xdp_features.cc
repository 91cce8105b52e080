#include "dataplane/probe/xdp_features.h"

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <vector>

namespace portway::dataplane::probe {
namespace {

// include/uapi/linux/netdev.h (Linux 6.3); Debian 12's headers predate it.
constexpr std::uint8_t kNetdevCmdDevGet = 1;
constexpr std::uint16_t kNetdevAttrIfindex = 1;
constexpr std::uint16_t kNetdevAttrXdpFeatures = 3;

class GenlSocket {
 public:
  GenlSocket() : sock_(mnl_socket_open(NETLINK_GENERIC)) {
    if (sock_ && mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
      mnl_socket_close(sock_);
      sock_ = nullptr;
    }
  }
  ~GenlSocket() {
    if (sock_) mnl_socket_close(sock_);
  }
  explicit operator bool() const { return sock_ != nullptr; }

  // One request with an ack; `each` sees every answer message. Returns 0 or an errno.
  int request(std::uint16_t family, std::uint8_t cmd, const std::function<void(nlmsghdr*)>& attrs,
              const std::function<void(const nlmsghdr*)>& each) {
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = family;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    nlh->nlmsg_seq = ++seq_;
    auto* g = static_cast<genlmsghdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(genlmsghdr)));
    g->cmd = cmd;
    g->version = 1;
    attrs(nlh);
    if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) return errno;
    struct Ctx {
      const std::function<void(const nlmsghdr*)>* each;
    } ctx{&each};
    for (;;) {
      const ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
      if (n < 0) return errno;
      const int rc = mnl_cb_run(
          buf.data(), static_cast<std::size_t>(n), seq_, mnl_socket_get_portid(sock_),
          [](const nlmsghdr* m, void* data) {
            (*static_cast<Ctx*>(data)->each)(m);
            return MNL_CB_OK;
          },
          &ctx);
      if (rc == MNL_CB_ERROR) return errno;
      if (rc == MNL_CB_STOP) return 0;
    }
  }

 private:
  mnl_socket* sock_;
  unsigned seq_ = 0;
};

using Attrs = std::array<const nlattr*, 16>;

Attrs genl_attrs(const nlmsghdr* m) {
  Attrs tb{};
  mnl_attr_parse(
      m, sizeof(genlmsghdr),
      [](const nlattr* a, void* data) {
        const auto t = mnl_attr_get_type(a);
        if (t < 16) (*static_cast<Attrs*>(data))[t] = a;
        return MNL_CB_OK;
      },
      &tb);
  return tb;
}

}  // namespace

XdpFeatures query_xdp_features(unsigned ifindex) {
  XdpFeatures out;
  GenlSocket sock;
  if (!sock) {
    out.error = std::strerror(errno);
    return out;
  }
  std::uint16_t family = 0;
  const int rc = sock.request(
      GENL_ID_CTRL, CTRL_CMD_GETFAMILY, [](nlmsghdr* n) { mnl_attr_put_strz(n, CTRL_ATTR_FAMILY_NAME, "netdev"); },
      [&](const nlmsghdr* m) {
        const Attrs a = genl_attrs(m);
        if (a[CTRL_ATTR_FAMILY_ID]) family = mnl_attr_get_u16(a[CTRL_ATTR_FAMILY_ID]);
      });
  if (rc == ENOENT || family == 0) return out;  // no netdev family: kernel older than 6.3
  if (rc != 0) {
    out.error = std::strerror(rc);
    return out;
  }
  std::optional<std::uint64_t> mask;
  const int rc2 = sock.request(
      family, kNetdevCmdDevGet, [&](nlmsghdr* n) { mnl_attr_put_u32(n, kNetdevAttrIfindex, ifindex); },
      [&](const nlmsghdr* m) {
        const Attrs a = genl_attrs(m);
        if (a[kNetdevAttrXdpFeatures]) mask = mnl_attr_get_u64(a[kNetdevAttrXdpFeatures]);
      });
  if (rc2 != 0) {
    out.error = std::strerror(rc2);
    return out;
  }
  out.mask = mask.value_or(0);
  return out;
}

}  // namespace portway::dataplane::probe
