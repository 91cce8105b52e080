#include "dataplane/conntrack/conntrack_table.h"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <system_error>
#include <vector>

namespace portway::dataplane::conntrack {
namespace {

struct CtFree {
  void operator()(nf_conntrack* ct) const { nfct_destroy(ct); }
};
using CtPtr = std::unique_ptr<nf_conntrack, CtFree>;

struct DumpState {
  std::span<const FlowMatch> matches;
  std::vector<CtPtr> doomed;
};

FlowTuple tuple_of(const nf_conntrack* ct) {
  FlowTuple t;
  t.protocol = nfct_get_attr_u8(ct, ATTR_L4PROTO);
  if (nfct_get_attr_u8(ct, ATTR_L3PROTO) == AF_INET6) {
    const auto v6 = [&](enum nf_conntrack_attr a) {
      net::Ipv6 out;
      std::memcpy(out.bytes.data(), nfct_get_attr(ct, a), out.bytes.size());
      return out;
    };
    t.original_dst = v6(ATTR_ORIG_IPV6_DST);
    t.reply_src = v6(ATTR_REPL_IPV6_SRC);
  } else {
    t.original_dst = net::Ipv4{ntohl(nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST))};
    t.reply_src = net::Ipv4{ntohl(nfct_get_attr_u32(ct, ATTR_REPL_IPV4_SRC))};
  }
  t.original_dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
  t.reply_sport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
  t.dnat = (nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT) != 0;
  return t;
}

int collect(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  auto* st = static_cast<DumpState*>(data);
  if (matches_any(st->matches, tuple_of(ct))) st->doomed.emplace_back(nfct_clone(ct));
  return NFCT_CB_CONTINUE;
}

}  // namespace

ConntrackTable::ConntrackTable() : handle_(nfct_open(CONNTRACK, 0)) {
  if (!handle_) throw std::system_error(errno, std::generic_category(), "conntrack netlink socket");
}

ConntrackTable::~ConntrackTable() { nfct_close(handle_); }

std::size_t ConntrackTable::delete_flows(std::span<const FlowMatch> matches) {
  if (matches.empty()) return 0;
  DumpState st{matches, {}};
  nfct_callback_register(handle_, NFCT_T_ALL, collect, &st);
  // Both families: IPv6 frontends and backends have their own entries.
  std::uint32_t family = AF_UNSPEC;
  const int rc = nfct_query(handle_, NFCT_Q_DUMP, &family);
  const int dump_errno = errno;
  nfct_callback_unregister(handle_);
  if (rc < 0) throw std::system_error(dump_errno, std::generic_category(), "conntrack dump");

  std::size_t deleted = 0;
  for (const auto& ct : st.doomed) {
    if (!ct) continue;
    if (nfct_query(handle_, NFCT_Q_DESTROY, ct.get()) == 0) ++deleted;
    // ENOENT: the entry timed out or was deleted since the dump; nothing left to do.
  }
  return deleted;
}

}  // namespace portway::dataplane::conntrack
