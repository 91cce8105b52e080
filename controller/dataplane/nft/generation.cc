#include "dataplane/nft/generation.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <cerrno>
#include <system_error>
#include <vector>

namespace portway::dataplane::nft {
namespace {

std::system_error error(const char* what) { return {errno, std::generic_category(), what}; }

struct GenResult {
  bool found = false;
  std::uint32_t id = 0;
};

int gen_attr(const nlattr* attr, void* data) {
  auto* r = static_cast<GenResult*>(data);
  if (mnl_attr_get_type(attr) == NFTA_GEN_ID && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) {
    r->id = ntohl(mnl_attr_get_u32(attr));
    r->found = true;
  }
  return MNL_CB_OK;
}

int gen_msg(const nlmsghdr* nlh, void* data) {
  mnl_attr_parse(nlh, sizeof(nfgenmsg), gen_attr, data);
  return MNL_CB_OK;
}

}  // namespace

GenerationReader::GenerationReader() : sock_(mnl_socket_open(NETLINK_NETFILTER)) {
  if (!sock_) throw error("netlink netfilter socket");
  if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
    const auto e = error("netlink netfilter bind");
    mnl_socket_close(sock_);
    throw e;
  }
}

GenerationReader::~GenerationReader() { mnl_socket_close(sock_); }

std::uint32_t GenerationReader::read() {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  nlh->nlmsg_flags = NLM_F_REQUEST;
  nlh->nlmsg_seq = ++seq_;
  auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  g->nfgen_family = AF_UNSPEC;
  g->version = NFNETLINK_V0;
  g->res_id = 0;
  if (mnl_socket_sendto(sock_, nlh, nlh->nlmsg_len) < 0) throw error("NFT_MSG_GETGEN send");

  GenResult result;
  const unsigned port = mnl_socket_get_portid(sock_);
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_, buf.data(), buf.size());
    if (n < 0) throw error("NFT_MSG_GETGEN receive");
    const int rc = mnl_cb_run(buf.data(), static_cast<size_t>(n), seq_, port, gen_msg, &result);
    if (rc < 0) throw error("NFT_MSG_GETGEN");
    if (result.found || rc == MNL_CB_STOP) break;
  }
  if (!result.found) throw std::system_error(EPROTO, std::generic_category(), "NFT_MSG_GETGEN: no id");
  return result.id;
}

}  // namespace portway::dataplane::nft
