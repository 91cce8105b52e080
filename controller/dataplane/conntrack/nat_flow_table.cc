// ConntrackTable's side of the dataplane hand-off (nat_flow.h): reading portway's NATed
// entries and seeding entries for flows the fast path carried.
#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack_tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <tuple>
#include <memory>
#include <system_error>

#include "dataplane/conntrack/conntrack_table.h"

namespace portway::dataplane::conntrack {
namespace {

// linux/netfilter/nf_conntrack_tcp.h: conntrack skips window checks for a liberal sender.
constexpr std::uint8_t kTcpBeLiberal = 0x08;

struct CtFree {
  void operator()(nf_conntrack* ct) const { nfct_destroy(ct); }
};
using CtPtr = std::unique_ptr<nf_conntrack, CtFree>;

CtPtr new_ct() {
  CtPtr ct(nfct_new());
  if (!ct) throw std::system_error(ENOMEM, std::generic_category(), "conntrack entry");
  return ct;
}

// What differs between the families: the address attributes and how an address is stored.
template <typename Addr>
struct Family;

template <>
struct Family<net::Ipv4> {
  static constexpr std::uint8_t af = AF_INET;
  static constexpr nf_conntrack_attr orig_src = ATTR_IPV4_SRC, orig_dst = ATTR_IPV4_DST,
                                     repl_src = ATTR_REPL_IPV4_SRC, repl_dst = ATTR_REPL_IPV4_DST,
                                     dnat = ATTR_DNAT_IPV4, snat = ATTR_SNAT_IPV4;
  static void set(nf_conntrack* ct, nf_conntrack_attr a, net::Ipv4 v) { nfct_set_attr_u32(ct, a, htonl(v.value)); }
  static net::Ipv4 get(const nf_conntrack* ct, nf_conntrack_attr a) {
    return net::Ipv4{ntohl(nfct_get_attr_u32(ct, a))};
  }
};

template <>
struct Family<net::Ipv6> {
  static constexpr std::uint8_t af = AF_INET6;
  static constexpr nf_conntrack_attr orig_src = ATTR_IPV6_SRC, orig_dst = ATTR_IPV6_DST,
                                     repl_src = ATTR_REPL_IPV6_SRC, repl_dst = ATTR_REPL_IPV6_DST,
                                     dnat = ATTR_DNAT_IPV6, snat = ATTR_SNAT_IPV6;
  // nfct_set_attr copies the 16 bytes (network order) the attribute holds.
  static void set(nf_conntrack* ct, nf_conntrack_attr a, const net::Ipv6& v) { nfct_set_attr(ct, a, v.bytes.data()); }
  static net::Ipv6 get(const nf_conntrack* ct, nf_conntrack_attr a) {
    net::Ipv6 out;
    std::memcpy(out.bytes.data(), nfct_get_attr(ct, a), out.bytes.size());
    return out;
  }
};

// The reply tuple of a flow's entry: from the backend's port back to the client (or, for a
// hairpin, to the source NAT address) at the client's port.
template <typename Addr>
void set_reply_tuple(nf_conntrack* ct, const BasicNatFlow<Addr>& f) {
  using F = Family<Addr>;
  nfct_set_attr_u8(ct, ATTR_REPL_L3PROTO, F::af);
  nfct_set_attr_u8(ct, ATTR_REPL_L4PROTO, f.protocol);
  F::set(ct, F::repl_src, f.backend);
  F::set(ct, F::repl_dst, f.snat ? *f.snat : f.client);
  nfct_set_attr_u16(ct, ATTR_REPL_PORT_SRC, htons(f.backend_port));
  nfct_set_attr_u16(ct, ATTR_REPL_PORT_DST, htons(f.client_port));
}

// The original tuple of the entry conntrack makes of a flow's packets already translated by
// the fast path: the client (or the source NAT address) to the backend's port, no NAT.
template <typename Addr>
void set_plain_tuple(nf_conntrack* ct, const BasicNatFlow<Addr>& f) {
  using F = Family<Addr>;
  nfct_set_attr_u8(ct, ATTR_L3PROTO, F::af);
  nfct_set_attr_u8(ct, ATTR_L4PROTO, f.protocol);
  F::set(ct, F::orig_src, f.snat ? *f.snat : f.client);
  F::set(ct, F::orig_dst, f.backend);
  nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(f.client_port));
  nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(f.backend_port));
}

template <typename Addr>
void set_orig_tuple(nf_conntrack* ct, const BasicNatFlow<Addr>& f) {
  using F = Family<Addr>;
  nfct_set_attr_u8(ct, ATTR_L3PROTO, F::af);
  nfct_set_attr_u8(ct, ATTR_L4PROTO, f.protocol);
  F::set(ct, F::orig_src, f.client);
  F::set(ct, F::orig_dst, f.frontend);
  nfct_set_attr_u16(ct, ATTR_PORT_SRC, htons(f.client_port));
  nfct_set_attr_u16(ct, ATTR_PORT_DST, htons(f.frontend_port));
}

// Established, liberal both ways, living `timeout` seconds without traffic. The status is
// only for a new entry: an existing one is confirmed, and a status that differs from it in an
// unchangeable bit makes the kernel refuse the update (EBUSY).
void set_established(nf_conntrack* ct, std::uint8_t protocol, std::uint32_t timeout, bool is_new) {
  nfct_set_attr_u32(ct, ATTR_TIMEOUT, timeout);
  if (is_new) nfct_set_attr_u32(ct, ATTR_STATUS, IPS_SEEN_REPLY | IPS_ASSURED);
  if (protocol == IPPROTO_TCP) {
    nfct_set_attr_u8(ct, ATTR_TCP_STATE, TCP_CONNTRACK_ESTABLISHED);
    nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_ORIG, kTcpBeLiberal);
    nfct_set_attr_u8(ct, ATTR_TCP_MASK_ORIG, kTcpBeLiberal);
    nfct_set_attr_u8(ct, ATTR_TCP_FLAGS_REPL, kTcpBeLiberal);
    nfct_set_attr_u8(ct, ATTR_TCP_MASK_REPL, kTcpBeLiberal);
  }
}

template <typename Addr>
CtPtr entry_for(const BasicNatFlow<Addr>& f, std::uint32_t timeout) {
  using F = Family<Addr>;
  CtPtr ct = new_ct();
  set_orig_tuple(ct.get(), f);
  // The reply tuple as it is before NAT: the kernel's NAT setup derives the translated one
  // from it and the NAT attributes, and sets the DST_NAT/SRC_NAT status bits only when the
  // two differ; an entry given the translated reply tuple up front is never mangled.
  BasicNatFlow<Addr> untranslated = f;
  untranslated.backend = f.frontend;
  untranslated.backend_port = f.frontend_port;
  untranslated.snat.reset();
  set_reply_tuple(ct.get(), untranslated);
  F::set(ct.get(), F::dnat, f.backend);
  nfct_set_attr_u16(ct.get(), ATTR_DNAT_PORT, htons(f.backend_port));
  if (f.snat) {
    F::set(ct.get(), F::snat, *f.snat);
    nfct_set_attr_u16(ct.get(), ATTR_SNAT_PORT, htons(f.client_port));
  }
  set_established(ct.get(), f.protocol, timeout, true);
  return ct;
}

// The flow an entry of the family describes, when it carries a destination NAT; nullopt
// otherwise.
template <typename Addr>
std::optional<BasicNatFlow<Addr>> nat_flow_of(const nf_conntrack* ct) {
  using F = Family<Addr>;
  if (nfct_get_attr_u8(ct, ATTR_L3PROTO) != F::af) return std::nullopt;
  const std::uint8_t proto = nfct_get_attr_u8(ct, ATTR_L4PROTO);
  if (proto != IPPROTO_TCP && proto != IPPROTO_UDP) return std::nullopt;
  if (!(nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_DST_NAT)) return std::nullopt;
  if (nfct_attr_is_set(ct, ATTR_ZONE) > 0 && nfct_get_attr_u16(ct, ATTR_ZONE) != 0) return std::nullopt;
  BasicNatFlow<Addr> f;
  f.protocol = proto;
  f.client = F::get(ct, F::orig_src);
  f.client_port = ntohs(nfct_get_attr_u16(ct, ATTR_PORT_SRC));
  f.frontend = F::get(ct, F::orig_dst);
  f.frontend_port = ntohs(nfct_get_attr_u16(ct, ATTR_PORT_DST));
  f.backend = F::get(ct, F::repl_src);
  f.backend_port = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_SRC));
  const Addr reply_dst = F::get(ct, F::repl_dst);
  const std::uint16_t reply_dport = ntohs(nfct_get_attr_u16(ct, ATTR_REPL_PORT_DST));
  // A source NAT that also moved the port cannot be represented by the fast path, whose
  // reverse entry restores the client's port unchanged.
  if (reply_dport != f.client_port) return std::nullopt;
  if (reply_dst != f.client) f.snat = reply_dst;
  return f;
}

template <typename Addr>
int collect(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  if (nfct_get_attr_u8(ct, ATTR_L4PROTO) == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0) {
    const std::uint8_t state = nfct_get_attr_u8(ct, ATTR_TCP_STATE);
    if (state == TCP_CONNTRACK_TIME_WAIT || state == TCP_CONNTRACK_CLOSE) return NFCT_CB_CONTINUE;
  }
  if (auto f = nat_flow_of<Addr>(ct)) static_cast<std::vector<BasicNatFlow<Addr>>*>(data)->push_back(*f);
  return NFCT_CB_CONTINUE;
}

// Names as conntrack(8) prints them (libnetfilter_conntrack_tcp.h's order).
const char* tcp_state_name(std::uint8_t state) {
  static constexpr const char* kNames[] = {"NONE",       "SYN_SENT", "SYN_RECV",  "ESTABLISHED", "FIN_WAIT",
                                           "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE",       "SYN_SENT2"};
  return state < std::size(kNames) ? kNames[state] : "UNKNOWN";
}

template <typename Addr>
ListedFlow listed_of(const BasicNatFlow<Addr>& f) {
  ListedFlow row;
  row.protocol = f.protocol;
  row.client = f.client;
  row.client_port = f.client_port;
  row.frontend = f.frontend;
  row.frontend_port = f.frontend_port;
  row.backend = f.backend;
  row.backend_port = f.backend_port;
  if (f.snat) row.snat = *f.snat;
  return row;
}

int collect_listed(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  std::optional<ListedFlow> listed;
  if (const auto f = nat_flow_of<net::Ipv4>(ct)) listed = listed_of(*f);
  else if (const auto f6 = nat_flow_of<net::Ipv6>(ct)) listed = listed_of(*f6);
  if (!listed) return NFCT_CB_CONTINUE;
  ListedFlow& row = *listed;
  if (row.protocol == IPPROTO_TCP && nfct_attr_is_set(ct, ATTR_TCP_STATE) > 0)
    row.state = tcp_state_name(nfct_get_attr_u8(ct, ATTR_TCP_STATE));
  else if (row.protocol == IPPROTO_UDP)
    row.state = (nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_ASSURED) ? "ASSURED"
                : (nfct_get_attr_u32(ct, ATTR_STATUS) & IPS_SEEN_REPLY) ? "REPLIED" : "UNREPLIED";
  if (nfct_attr_is_set(ct, ATTR_TIMEOUT) > 0) row.expires = std::chrono::seconds(nfct_get_attr_u32(ct, ATTR_TIMEOUT));
  static_cast<std::vector<ListedFlow>*>(data)->push_back(std::move(row));
  return NFCT_CB_CONTINUE;
}

void dump_family(nfct_handle* handle, std::uint32_t family,
                 int (*cb)(enum nf_conntrack_msg_type, struct nf_conntrack*, void*), void* data) {
  nfct_callback_register(handle, NFCT_T_ALL, cb, data);
  const int rc = nfct_query(handle, NFCT_Q_DUMP, &family);
  const int dump_errno = errno;
  nfct_callback_unregister(handle);
  if (rc < 0) throw std::system_error(dump_errno, std::generic_category(), "conntrack dump");
}

template <typename Addr>
struct Found {
  std::optional<BasicNatFlow<Addr>> flow;
  bool any = false;
};

// CONTINUE, not STOP: a stop ends the read before the kernel's acknowledgement, which stays in
// the socket and is taken by the next query on the handle as its own answer.
template <typename Addr>
int remember(enum nf_conntrack_msg_type, struct nf_conntrack* ct, void* data) {
  auto* found = static_cast<Found<Addr>*>(data);
  if (!found->any) {
    found->any = true;
    found->flow = nat_flow_of<Addr>(ct);
  }
  return NFCT_CB_CONTINUE;
}

std::chrono::seconds read_seconds(const char* path, std::chrono::seconds fallback) {
  std::ifstream in(path);
  long v = 0;
  if (in >> v && v > 0) return std::chrono::seconds(v);
  return fallback;
}

// Conntrack holds one entry per reply tuple; the fast path's flow table can hold several flows
// with the same one: the client used one source port towards two frontends of the same backend
// and port (a flow table keeps closed connections until they are evicted), and their reverse
// entries collide there too. The most recently active flow is the live one and is kept.
template <typename Addr>
std::vector<BasicNatFlow<Addr>> one_per_reply_tuple(std::span<const BasicNatFlow<Addr>> flows, SeedCounts& counts) {
  std::map<std::tuple<std::uint8_t, Addr, Addr, std::uint16_t, std::uint16_t>, BasicNatFlow<Addr>> by_reply;
  for (const BasicNatFlow<Addr>& f : flows) {
    const auto key = std::make_tuple(f.protocol, f.backend, f.snat ? *f.snat : f.client, f.backend_port,
                                     f.client_port);
    auto [it, inserted] = by_reply.try_emplace(key, f);
    if (inserted) continue;
    ++counts.superseded;
    if (f.idle < it->second.idle) it->second = f;
  }
  std::vector<BasicNatFlow<Addr>> out;
  out.reserve(by_reply.size());
  for (auto& [key, f] : by_reply) out.push_back(std::move(f));
  return out;
}

template <typename Addr>
SeedCounts seed_flows(nfct_handle* handle, std::span<const BasicNatFlow<Addr>> flows, const SeedTimeouts& timeouts) {
  SeedCounts counts;
  for (const BasicNatFlow<Addr>& f : one_per_reply_tuple(flows, counts)) {
    const auto life = std::chrono::duration_cast<std::chrono::seconds>(
        (f.protocol == IPPROTO_TCP ? timeouts.tcp_established : timeouts.udp_stream) - f.idle);
    if (life.count() <= 0) {
      ++counts.expired;
      continue;
    }
    const auto timeout = static_cast<std::uint32_t>(life.count());
    CtPtr ct = entry_for(f, timeout);
    // The entry conntrack makes of this flow's translated packets when the fast path passed
    // them to the stack (client -> backend, no NAT; made once nftables has conntrack running)
    // holds the flow's reply tuple. It does not fail the create: the kernel makes the new
    // entry's reply tuple unique by rewriting the client's port, and the backend then sees a
    // stranger and resets. So it goes first (looked up by its own tuple: a query by reply
    // tuple alone is answered by the original one).
    CtPtr plain = new_ct();
    set_plain_tuple(plain.get(), f);
    const bool displaced = nfct_query(handle, NFCT_Q_DESTROY, plain.get()) == 0;
    if (nfct_query(handle, NFCT_Q_CREATE, ct.get()) == 0) {
      ++(displaced ? counts.replaced : counts.created);
      continue;
    }
    if (errno != EEXIST) {
      ++counts.failed;
      continue;
    }
    // Who holds the tuple: the same translation is kept and refreshed (its window state may be
    // stale after a spell on the fast path); anything else gives way.
    CtPtr orig = new_ct();
    set_orig_tuple(orig.get(), f);
    Found<Addr> found;
    nfct_callback_register(handle, NFCT_T_ALL, remember<Addr>, &found);
    (void)nfct_query(handle, NFCT_Q_GET, orig.get());
    nfct_callback_unregister(handle);
    if (found.flow && found.flow->same_nat(f)) {
      CtPtr update = new_ct();
      set_orig_tuple(update.get(), f);
      set_established(update.get(), f.protocol, timeout, false);
      if (nfct_query(handle, NFCT_Q_UPDATE, update.get()) == 0) ++counts.refreshed;
      else ++counts.failed;
      continue;
    }
    if (found.any) (void)nfct_query(handle, NFCT_Q_DESTROY, orig.get());
    (void)nfct_query(handle, NFCT_Q_DESTROY, plain.get());
    if (nfct_query(handle, NFCT_Q_CREATE, ct.get()) == 0) ++counts.replaced;
    else ++counts.failed;
  }
  return counts;
}

template <typename Addr>
std::size_t loosen_flows(nfct_handle* handle, std::span<const BasicNatFlow<Addr>> flows) {
  std::size_t refused = 0;
  for (const BasicNatFlow<Addr>& f : flows) {
    if (f.protocol != IPPROTO_TCP) continue;
    CtPtr update = new_ct();
    set_orig_tuple(update.get(), f);
    nfct_set_attr_u8(update.get(), ATTR_TCP_FLAGS_ORIG, kTcpBeLiberal);
    nfct_set_attr_u8(update.get(), ATTR_TCP_MASK_ORIG, kTcpBeLiberal);
    nfct_set_attr_u8(update.get(), ATTR_TCP_FLAGS_REPL, kTcpBeLiberal);
    nfct_set_attr_u8(update.get(), ATTR_TCP_MASK_REPL, kTcpBeLiberal);
    if (nfct_query(handle, NFCT_Q_UPDATE, update.get()) != 0) ++refused;
  }
  return refused;
}

}  // namespace

SeedTimeouts SeedTimeouts::of_current_netns() {
  SeedTimeouts t;
  t.tcp_established =
      read_seconds("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_established", t.tcp_established);
  t.udp_stream = read_seconds("/proc/sys/net/netfilter/nf_conntrack_udp_timeout_stream", t.udp_stream);
  return t;
}

std::vector<NatFlow> ConntrackTable::nat_flows() {
  std::vector<NatFlow> out;
  dump_family(handle_, AF_INET, collect<net::Ipv4>, &out);
  return out;
}

std::vector<NatFlow6> ConntrackTable::nat_flows6() {
  std::vector<NatFlow6> out;
  dump_family(handle_, AF_INET6, collect<net::Ipv6>, &out);
  return out;
}

std::vector<ListedFlow> ConntrackTable::listed_flows() {
  std::vector<ListedFlow> out;
  dump_family(handle_, AF_UNSPEC, collect_listed, &out);  // both families
  return out;
}

SeedCounts ConntrackTable::seed(std::span<const NatFlow> flows, const SeedTimeouts& timeouts) {
  return seed_flows<net::Ipv4>(handle_, flows, timeouts);
}

SeedCounts ConntrackTable::seed(std::span<const NatFlow6> flows, const SeedTimeouts& timeouts) {
  return seed_flows<net::Ipv6>(handle_, flows, timeouts);
}

std::size_t ConntrackTable::loosen(std::span<const NatFlow> flows) { return loosen_flows<net::Ipv4>(handle_, flows); }

std::size_t ConntrackTable::loosen(std::span<const NatFlow6> flows) { return loosen_flows<net::Ipv6>(handle_, flows); }

}  // namespace portway::dataplane::conntrack
