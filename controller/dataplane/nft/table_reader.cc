#include "dataplane/nft/table_reader.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>

#include <endian.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <functional>
#include <system_error>
#include <vector>

#include "dataplane/nft/layout.h"
#include "netlink/answers.h"

namespace portway::dataplane::nft {
namespace {

constexpr int kMaxAttr = 32;  // above every NFTA_*_MAX this file parses
using Attrs = std::array<const nlattr*, kMaxAttr + 1>;

std::system_error error(int err, const std::string& what) { return {err, std::generic_category(), what}; }

int collect_attr(const nlattr* a, void* data) {
  const int type = mnl_attr_get_type(a);
  if (type <= kMaxAttr) (*static_cast<Attrs*>(data))[static_cast<std::size_t>(type)] = a;
  return MNL_CB_OK;
}

Attrs parse_msg(const nlmsghdr* nlh) {
  Attrs tb{};
  mnl_attr_parse(nlh, sizeof(nfgenmsg), collect_attr, &tb);
  return tb;
}

Attrs parse_nested(const nlattr* a) {
  Attrs tb{};
  if (a) mnl_attr_parse_nested(a, collect_attr, &tb);
  return tb;
}

std::string str(const nlattr* a) { return a ? mnl_attr_get_str(a) : ""; }
std::uint32_t u32be(const nlattr* a) { return a ? ntohl(mnl_attr_get_u32(a)) : 0; }
std::uint64_t u64be(const nlattr* a) { return a ? be64toh(mnl_attr_get_u64(a)) : 0; }

std::string_view bytes(const nlattr* a) {
  if (!a) return {};
  return {static_cast<const char*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a)};
}

void each_nested(const nlattr* list, const std::function<void(const nlattr*)>& f) {
  if (!list) return;
  const auto* begin = static_cast<const char*>(mnl_attr_get_payload(list));
  const auto* end = begin + mnl_attr_get_payload_len(list);
  for (const auto* a = static_cast<const nlattr*>(static_cast<const void*>(begin));
       mnl_attr_ok(a, static_cast<int>(end - static_cast<const char*>(static_cast<const void*>(a))));
       a = mnl_attr_next(a))
    f(a);
}

// The comment in an element's user data: libnftnl's TLVs of (type, length, value), the comment
// being type 0 (NFTNL_UDATA_SET_ELEM_COMMENT) with its terminating NUL. False without one.
bool userdata_comment(const nlattr* udata, std::string& out) {
  const std::string_view b = bytes(udata);
  constexpr unsigned char kComment = 0;
  for (std::size_t i = 0; i + 2 <= b.size();) {
    const auto type = static_cast<unsigned char>(b[i]);
    const auto len = static_cast<unsigned char>(b[i + 1]);
    if (i + 2 + len > b.size()) return false;
    if (type == kComment) {
      const std::string_view v = b.substr(i + 2, len);
      out.assign(v.substr(0, v.find('\0')));
      return true;
    }
    i += 2 + std::size_t{len};
  }
  return false;
}

// A counter expression (NFTA_EXPR_NAME "counter"); false for any other expression.
bool counter_expr(const nlattr* expr, Counter& out) {
  const Attrs e = parse_nested(expr);
  if (str(e[NFTA_EXPR_NAME]) != "counter") return false;
  const Attrs c = parse_nested(e[NFTA_EXPR_DATA]);
  out = {u64be(c[NFTA_COUNTER_PACKETS]), u64be(c[NFTA_COUNTER_BYTES])};
  return true;
}

std::uint32_t native_u32(std::string_view b, std::size_t off) {
  std::uint32_t v = 0;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

void append_ipv4(std::string& s, std::string_view b, std::size_t off) {
  for (std::size_t i = 0; i < 4; ++i) {
    if (i) s += '.';
    s += std::to_string(static_cast<unsigned char>(b[off + i]));
  }
}

std::uint16_t port_at(std::string_view b, std::size_t off) {
  return static_cast<std::uint16_t>((static_cast<unsigned char>(b[off]) << 8) | static_cast<unsigned char>(b[off + 1]));
}

void append_ipv6(std::string& s, std::string_view b, std::size_t off) {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, b.data() + off, buf, sizeof buf);  // nft prints IPv6 the same way
  s += buf;
}

// Key bytes -> the element writer's text; false when the bytes do not fit the layout.
bool key_text(const SetDef& d, std::string_view b, std::string& out) {
  std::size_t len = 0;
  for (const Field f : d.key) len += field_len(f);
  if (b.size() != len) return false;
  std::size_t off = 0;
  for (std::size_t i = 0; i < d.key.size(); off += field_len(d.key[i]), ++i) {
    if (i) out += " . ";
    switch (d.key[i]) {
      case Field::ipv6: append_ipv6(out, b, off); break;
      case Field::ipv4: append_ipv4(out, b, off); break;
      case Field::proto: {
        const auto p = static_cast<unsigned char>(b[off]);
        out += p == 6 ? "tcp" : p == 17 ? "udp" : std::to_string(p);
        break;
      }
      case Field::port: out += std::to_string(port_at(b, off)); break;
      case Field::u32: out += std::to_string(native_u32(b, off)); break;
    }
  }
  return true;
}

bool data_text(const SetDef& d, const nlattr* data, std::string& out) {
  const Attrs t = parse_nested(data);
  if (d.data == Data::verdict) {
    const Attrs v = parse_nested(t[NFTA_DATA_VERDICT]);
    const auto code = static_cast<std::int32_t>(u32be(v[NFTA_VERDICT_CODE]));
    if (code == NFT_GOTO) out = "goto " + str(v[NFTA_VERDICT_CHAIN]);
    else if (code == NFT_JUMP) out = "jump " + str(v[NFTA_VERDICT_CHAIN]);
    else return false;
    return true;
  }
  const std::string_view b = bytes(t[NFTA_DATA_VALUE]);
  switch (d.data) {
    case Data::u32:
      if (b.size() != 4) return false;
      out = std::to_string(native_u32(b, 0));
      return true;
    case Data::ipv4:
      if (b.size() != 4) return false;
      append_ipv4(out, b, 0);
      return true;
    case Data::ipv6:
      if (b.size() != 16) return false;
      append_ipv6(out, b, 0);
      return true;
    case Data::port:
      if (b.size() != 2) return false;
      out = std::to_string(port_at(b, 0));
      return true;
    default:
      return false;
  }
}

const SetDef* def_named(const std::string& name) {
  for (const SetDef& d : set_defs())
    if (d.name == name) return &d;
  return nullptr;
}

const char* hook_name(std::uint32_t h) {
  switch (h) {
    case NF_INET_PRE_ROUTING: return "prerouting";
    case NF_INET_LOCAL_IN: return "input";
    case NF_INET_FORWARD: return "forward";
    case NF_INET_LOCAL_OUT: return "output";
    case NF_INET_POST_ROUTING: return "postrouting";
    default: return "other";
  }
}

bool ours(const nlmsghdr* nlh, const nlattr* table) {
  const auto* g = static_cast<const nfgenmsg*>(mnl_nlmsg_get_payload(nlh));
  return g->nfgen_family == NFPROTO_INET && str(table) == kTable;
}

}  // namespace

TableReader::TableReader() : sock_(mnl_socket_open(NETLINK_NETFILTER)) {
  if (!sock_) throw error(errno, "netlink netfilter socket");
  if (mnl_socket_bind(sock_, 0, MNL_SOCKET_AUTOPID) < 0) {
    const int e = errno;
    mnl_socket_close(sock_);
    throw error(e, "netlink netfilter bind");
  }
  port_ = mnl_socket_get_portid(sock_);
}

TableReader::~TableReader() { mnl_socket_close(sock_); }

namespace {

// One request/answer round: a dump (NLM_F_DUMP) or a single get with an ack. Returns false
// when the kernel flags the dump as interrupted by a concurrent change (netlink/answers.h:
// libmnl's own loop would stop there with EINTR); throws on errors (ENOENT included: callers
// that expect it catch it).
bool run(mnl_socket* sock, unsigned port, unsigned seq, std::uint16_t msg, bool dump,
         const std::function<void(nlmsghdr*)>& attrs, const std::function<void(const nlmsghdr*)>& each) {
  std::vector<char> buf(1 << 20);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf.data());
  nlh->nlmsg_type = static_cast<std::uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | msg);
  nlh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | (dump ? NLM_F_DUMP : NLM_F_ACK));
  nlh->nlmsg_seq = seq;
  auto* g = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  g->nfgen_family = NFPROTO_INET;
  g->version = NFNETLINK_V0;
  g->res_id = 0;
  attrs(nlh);
  if (mnl_socket_sendto(sock, nlh, nlh->nlmsg_len) < 0) throw error(errno, "nf_tables request");

  const netlink::Answers a = netlink::receive_answers(sock, buf.data(), buf.size(), seq, port, each);
  if (a.error != 0) throw error(a.error, "nf_tables answer");
  return !a.interrupted;
}

}  // namespace

bool TableReader::table_exists() {
  try {
    run(sock_, port_, ++seq_, NFT_MSG_GETTABLE, false,
        [](nlmsghdr* n) { mnl_attr_put_strz(n, NFTA_TABLE_NAME, std::string(kTable).c_str()); },
        [](const nlmsghdr*) {});
    return true;
  } catch (const std::system_error& e) {
    if (e.code().value() == ENOENT) return false;
    throw;
  }
}

namespace {

bool in_scope(SetName s, TableReader::Scope scope) {
  if (scope == TableReader::Scope::none) return false;
  switch (s) {
    case SetName::svc_addrs:
    case SetName::svc_tport:
    case SetName::svc_slots:
    case SetName::np_sets:
    case SetName::np_tport:
    case SetName::np_slots:
    case SetName::draining:
    case SetName::draining6:
    case SetName::svc_addrs6:
    case SetName::svc_tport6:
    case SetName::svc_slots6:
    case SetName::np_slots6:
    case SetName::be_addr6:
      return true;
    case SetName::svc_fe:
    case SetName::svc_rej:
    case SetName::np_fe:
    case SetName::np_rej:
    case SetName::be_pkts:
    case SetName::be_new:
    case SetName::svc_fe6:
    case SetName::svc_rej6:
    case SetName::be_pkts6:
    case SetName::be_new6:
      return scope != TableReader::Scope::state;
    default:
      return scope == TableReader::Scope::all;
  }
}

}  // namespace

ReadBack TableReader::read(Scope scope) {
  const std::string table(kTable);
  const auto by_table = [&](std::uint16_t attr) {
    return [&, attr](nlmsghdr* n) { mnl_attr_put_strz(n, attr, table.c_str()); };
  };
  for (int attempt = 0;; ++attempt) {
    ReadBack rb;
    if (!table_exists()) return rb;
    rb.table = true;
    bool consistent = true;

    consistent &= run(sock_, port_, ++seq_, NFT_MSG_GETSET, true, by_table(NFTA_SET_TABLE), [&](const nlmsghdr* m) {
      const Attrs a = parse_msg(m);
      if (!ours(m, a[NFTA_SET_TABLE]) || (u32be(a[NFTA_SET_FLAGS]) & NFT_SET_ANONYMOUS)) return;
      bool counter = false;
      if (a[NFTA_SET_EXPR]) {
        Counter c;
        counter = counter_expr(a[NFTA_SET_EXPR], c);
      }
      each_nested(a[NFTA_SET_EXPRESSIONS], [&](const nlattr* e) {
        Counter c;
        counter = counter || counter_expr(e, c);
      });
      const bool map = (u32be(a[NFTA_SET_FLAGS]) & NFT_SET_MAP) != 0;
      const bool verdict = map && u32be(a[NFTA_SET_DATA_TYPE]) == NFT_DATA_VERDICT;
      SetReadBack s;
      s.signature = signature(u32be(a[NFTA_SET_KEY_LEN]), map, verdict, u32be(a[NFTA_SET_DATA_LEN]), counter);
      rb.sets[str(a[NFTA_SET_NAME])] = std::move(s);
    });

    for (auto& [name, set] : rb.sets) {
      const SetDef* d = def_named(name);
      if (!d || set.signature != signature(*d)) continue;  // to be deleted whole: contents do not matter
      if (!in_scope(d->id, scope)) continue;
      consistent &= run(
          sock_, port_, ++seq_, NFT_MSG_GETSETELEM, true,
          [&](nlmsghdr* n) {
            mnl_attr_put_strz(n, NFTA_SET_ELEM_LIST_TABLE, table.c_str());
            mnl_attr_put_strz(n, NFTA_SET_ELEM_LIST_SET, name.c_str());
          },
          [&](const nlmsghdr* m) {
            const Attrs a = parse_msg(m);
            each_nested(a[NFTA_SET_ELEM_LIST_ELEMENTS], [&](const nlattr* el) {
              const Attrs e = parse_nested(el);
              std::string key, data;
              const Attrs k = parse_nested(e[NFTA_SET_ELEM_KEY]);
              if (!key_text(*d, bytes(k[NFTA_DATA_VALUE]), key) ||
                  (d->is_map() && !data_text(*d, e[NFTA_SET_ELEM_DATA], data))) {
                set.unreadable_elements = true;
                return;
              }
              Counter c;
              if (e[NFTA_SET_ELEM_EXPR] && counter_expr(e[NFTA_SET_ELEM_EXPR], c)) set.counters[key] = c;
              each_nested(e[NFTA_SET_ELEM_EXPRESSIONS], [&](const nlattr* x) {
                if (counter_expr(x, c)) set.counters[key] = c;
              });
              if (std::string comment; userdata_comment(e[NFTA_SET_ELEM_USERDATA], comment))
                set.comments[key] = std::move(comment);
              set.elements[std::move(key)] = std::move(data);
            });
          });
    }

    consistent &= run(sock_, port_, ++seq_, NFT_MSG_GETCHAIN, true, by_table(NFTA_CHAIN_TABLE), [&](const nlmsghdr* m) {
      const Attrs a = parse_msg(m);
      if (!ours(m, a[NFTA_CHAIN_TABLE])) return;
      ChainReadBack c;
      if (a[NFTA_CHAIN_HOOK]) {
        const Attrs h = parse_nested(a[NFTA_CHAIN_HOOK]);
        c.type = str(a[NFTA_CHAIN_TYPE]);
        c.hook = hook_name(u32be(h[NFTA_HOOK_HOOKNUM]));
        c.priority = static_cast<std::int32_t>(u32be(h[NFTA_HOOK_PRIORITY]));
        c.policy = u32be(a[NFTA_CHAIN_POLICY]) == NF_ACCEPT ? "accept" : "drop";
      }
      rb.chains[str(a[NFTA_CHAIN_NAME])] = std::move(c);
    });
    consistent &= run(sock_, port_, ++seq_, NFT_MSG_GETRULE, true, by_table(NFTA_RULE_TABLE), [&](const nlmsghdr* m) {
      const Attrs a = parse_msg(m);
      if (ours(m, a[NFTA_RULE_TABLE])) ++rb.chains[str(a[NFTA_RULE_CHAIN])].rules;
    });
    consistent &= run(
        sock_, port_, ++seq_, NFT_MSG_GETOBJ, true,
        [&](nlmsghdr* n) {
          mnl_attr_put_strz(n, NFTA_OBJ_TABLE, table.c_str());
          mnl_attr_put_u32(n, NFTA_OBJ_TYPE, htonl(NFT_OBJECT_COUNTER));
        },
        [&](const nlmsghdr* m) {
          const Attrs a = parse_msg(m);
          if (!ours(m, a[NFTA_OBJ_TABLE]) || u32be(a[NFTA_OBJ_TYPE]) != NFT_OBJECT_COUNTER) return;
          const Attrs c = parse_nested(a[NFTA_OBJ_DATA]);
          rb.counters[str(a[NFTA_OBJ_NAME])] = {u64be(c[NFTA_COUNTER_PACKETS]), u64be(c[NFTA_COUNTER_BYTES])};
        });
    if (consistent || attempt + 1 >= netlink::kDumpAttempts) return rb;
    ++interrupted_reads_;
  }
}

}  // namespace portway::dataplane::nft
