// The C header (include/portway/lb_abi.h) as C++ sees it against the compiled BPF object's
// BTF (what clang -target bpf made of the same header): every struct must have the same size
// and every field the same offset, and neither side may have a field the other lacks.
// Needs no privileges: the object is parsed from disk.
#include <gtest/gtest.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cctype>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "loader/lb_drop_reasons.h"
#include "loader/lb_events.h"
#include "portway/lb_abi.h"
#include "support/btf_layout.h"

#ifndef PORTWAY_LB_BPF_OBJECT
#error "PORTWAY_LB_BPF_OBJECT must name the linked portway_lb.bpf.o"
#endif

namespace portway::test {
namespace {

#define PW_FIELD PORTWAY_LAYOUT_FIELD

std::vector<StructLayout> cxx_layouts() {
  return {
      {"pw_frontend_key", sizeof(pw_frontend_key),
       {PW_FIELD(pw_frontend_key, addr), PW_FIELD(pw_frontend_key, port),
        PW_FIELD(pw_frontend_key, proto), PW_FIELD(pw_frontend_key, kind)}},
      {"pw_frontend", sizeof(pw_frontend),
       {PW_FIELD(pw_frontend, id), PW_FIELD(pw_frontend, set_id),
        PW_FIELD(pw_frontend, target_port), PW_FIELD(pw_frontend, flags),
        PW_FIELD(pw_frontend, gen)}},
      {"pw_service_addr", sizeof(pw_service_addr), {PW_FIELD(pw_service_addr, flags)}},
      {"pw_node_addr", sizeof(pw_node_addr), {PW_FIELD(pw_node_addr, flags)}},
      {"pw_backend", sizeof(pw_backend),
       {PW_FIELD(pw_backend, addr), PW_FIELD(pw_backend, ifindex), PW_FIELD(pw_backend, set_id),
        PW_FIELD(pw_backend, state), PW_FIELD(pw_backend, reserved)}},
      {"pw_nexthop", sizeof(pw_nexthop),
       {PW_FIELD(pw_nexthop, expires_ns), PW_FIELD(pw_nexthop, daddr),
        PW_FIELD(pw_nexthop, ifindex), PW_FIELD(pw_nexthop, in_ifindex),
        PW_FIELD(pw_nexthop, max_len), PW_FIELD(pw_nexthop, dmac), PW_FIELD(pw_nexthop, smac),
        PW_FIELD(pw_nexthop, flags), PW_FIELD(pw_nexthop, reserved)}},
      {"pw_flow_key", sizeof(pw_flow_key),
       {PW_FIELD(pw_flow_key, saddr), PW_FIELD(pw_flow_key, daddr), PW_FIELD(pw_flow_key, sport),
        PW_FIELD(pw_flow_key, dport), PW_FIELD(pw_flow_key, proto),
        PW_FIELD(pw_flow_key, reserved)}},
      {"pw_flow", sizeof(pw_flow),
       {PW_FIELD(pw_flow, backend_id), PW_FIELD(pw_flow, backend_addr),
        PW_FIELD(pw_flow, target_port), PW_FIELD(pw_flow, flags),
        PW_FIELD(pw_flow, frontend_id), PW_FIELD(pw_flow, snat_addr),
        PW_FIELD(pw_flow, frontend_gen), PW_FIELD(pw_flow, last_seen_ns)}},
      {"pw_conn_key", sizeof(pw_conn_key),
       {PW_FIELD(pw_conn_key, client_addr), PW_FIELD(pw_conn_key, client_port),
        PW_FIELD(pw_conn_key, proto), PW_FIELD(pw_conn_key, reserved)}},
      {"pw_conn", sizeof(pw_conn),
       {PW_FIELD(pw_conn, flow), PW_FIELD(pw_conn, frontend_addr), PW_FIELD(pw_conn, frontend_port),
        PW_FIELD(pw_conn, reserved)}},
      {"pw_conn6_key", sizeof(pw_conn6_key),
       {PW_FIELD(pw_conn6_key, client_addr), PW_FIELD(pw_conn6_key, client_port),
        PW_FIELD(pw_conn6_key, proto), PW_FIELD(pw_conn6_key, reserved)}},
      {"pw_conn6", sizeof(pw_conn6),
       {PW_FIELD(pw_conn6, flow), PW_FIELD(pw_conn6, frontend_addr), PW_FIELD(pw_conn6, frontend_port),
        PW_FIELD(pw_conn6, reserved)}},
      {"pw_conn_way", sizeof(pw_conn_way),
       {PW_FIELD(pw_conn_way, key), PW_FIELD(pw_conn_way, conn), PW_FIELD(pw_conn_way, reserved)}},
      {"pw_conn_set", sizeof(pw_conn_set),
       {PW_FIELD(pw_conn_set, lock), PW_FIELD(pw_conn_set, reserved0), PW_FIELD(pw_conn_set, tag),
        PW_FIELD(pw_conn_set, age), PW_FIELD(pw_conn_set, reserved1), PW_FIELD(pw_conn_set, way)}},
      {"pw_conn6_way", sizeof(pw_conn6_way),
       {PW_FIELD(pw_conn6_way, key), PW_FIELD(pw_conn6_way, reserved0), PW_FIELD(pw_conn6_way, conn),
        PW_FIELD(pw_conn6_way, reserved)}},
      {"pw_conn6_set", sizeof(pw_conn6_set),
       {PW_FIELD(pw_conn6_set, lock), PW_FIELD(pw_conn6_set, reserved0), PW_FIELD(pw_conn6_set, tag),
        PW_FIELD(pw_conn6_set, age), PW_FIELD(pw_conn6_set, reserved1), PW_FIELD(pw_conn6_set, way)}},
      {"pw_conn_ctl", sizeof(pw_conn_ctl),
       {PW_FIELD(pw_conn_ctl, code), PW_FIELD(pw_conn_ctl, result), PW_FIELD(pw_conn_ctl, reserved),
        PW_FIELD(pw_conn_ctl, backend_id), PW_FIELD(pw_conn_ctl, key), PW_FIELD(pw_conn_ctl, conn)}},
      {"pw_conn6_ctl", sizeof(pw_conn6_ctl),
       {PW_FIELD(pw_conn6_ctl, code), PW_FIELD(pw_conn6_ctl, result), PW_FIELD(pw_conn6_ctl, reserved),
        PW_FIELD(pw_conn6_ctl, backend_id), PW_FIELD(pw_conn6_ctl, key), PW_FIELD(pw_conn6_ctl, reserved1),
        PW_FIELD(pw_conn6_ctl, conn)}},
      {"pw_reverse", sizeof(pw_reverse),
       {PW_FIELD(pw_reverse, frontend_addr), PW_FIELD(pw_reverse, frontend_port),
        PW_FIELD(pw_reverse, flags), PW_FIELD(pw_reverse, client_addr),
        PW_FIELD(pw_reverse, reserved)}},
      {"pw_fragment_key", sizeof(pw_fragment_key),
       {PW_FIELD(pw_fragment_key, saddr), PW_FIELD(pw_fragment_key, daddr),
        PW_FIELD(pw_fragment_key, ip_id), PW_FIELD(pw_fragment_key, proto),
        PW_FIELD(pw_fragment_key, reserved)}},
      {"pw_fragment", sizeof(pw_fragment),
       {PW_FIELD(pw_fragment, new_saddr), PW_FIELD(pw_fragment, new_daddr),
        PW_FIELD(pw_fragment, frontend_id), PW_FIELD(pw_fragment, backend_id),
        PW_FIELD(pw_fragment, flags), PW_FIELD(pw_fragment, reserved),
        PW_FIELD(pw_fragment, created_ns)}},
      {"pw_maglev_chunk", sizeof(pw_maglev_chunk), {PW_FIELD(pw_maglev_chunk, ids)}},
      {"pw_interface", sizeof(pw_interface),
       {PW_FIELD(pw_interface, mac), PW_FIELD(pw_interface, flags), PW_FIELD(pw_interface, reserved)}},
      {"pw_traffic", sizeof(pw_traffic),
       {PW_FIELD(pw_traffic, packets), PW_FIELD(pw_traffic, bytes),
        PW_FIELD(pw_traffic, new_flows), PW_FIELD(pw_traffic, rejected)}},
      {"pw_sock_config", sizeof(pw_sock_config), {PW_FIELD(pw_sock_config, netns_cookie)}},
      {"pw_sock_reverse_key", sizeof(pw_sock_reverse_key),
       {PW_FIELD(pw_sock_reverse_key, cookie), PW_FIELD(pw_sock_reverse_key, backend_addr),
        PW_FIELD(pw_sock_reverse_key, backend_port), PW_FIELD(pw_sock_reverse_key, pad)}},
      {"pw_sock_reverse", sizeof(pw_sock_reverse),
       {PW_FIELD(pw_sock_reverse, frontend_addr), PW_FIELD(pw_sock_reverse, frontend_port),
        PW_FIELD(pw_sock_reverse, pad)}},
      // Layout 2
      {"pw_in6", sizeof(pw_in6), {PW_FIELD(pw_in6, w)}},
      {"pw_prefix4", sizeof(pw_prefix4), {PW_FIELD(pw_prefix4, addr), PW_FIELD(pw_prefix4, mask)}},
      {"pw_prefix6", sizeof(pw_prefix6), {PW_FIELD(pw_prefix6, addr), PW_FIELD(pw_prefix6, mask)}},
      {"pw_prefilter", sizeof(pw_prefilter),
       {PW_FIELD(pw_prefilter, flags), PW_FIELD(pw_prefilter, count4),
        PW_FIELD(pw_prefilter, count6), PW_FIELD(pw_prefilter, reserved),
        PW_FIELD(pw_prefilter, v4), PW_FIELD(pw_prefilter, v6)}},
      {"pw_frontend6_key", sizeof(pw_frontend6_key),
       {PW_FIELD(pw_frontend6_key, addr), PW_FIELD(pw_frontend6_key, port),
        PW_FIELD(pw_frontend6_key, proto), PW_FIELD(pw_frontend6_key, kind)}},
      {"pw_nexthop6", sizeof(pw_nexthop6),
       {PW_FIELD(pw_nexthop6, expires_ns), PW_FIELD(pw_nexthop6, daddr),
        PW_FIELD(pw_nexthop6, ifindex), PW_FIELD(pw_nexthop6, in_ifindex),
        PW_FIELD(pw_nexthop6, max_len), PW_FIELD(pw_nexthop6, dmac), PW_FIELD(pw_nexthop6, smac), PW_FIELD(pw_nexthop6, flags),
        PW_FIELD(pw_nexthop6, reserved)}},
      {"pw_flow6_key", sizeof(pw_flow6_key),
       {PW_FIELD(pw_flow6_key, saddr), PW_FIELD(pw_flow6_key, daddr), PW_FIELD(pw_flow6_key, sport),
        PW_FIELD(pw_flow6_key, dport), PW_FIELD(pw_flow6_key, proto),
        PW_FIELD(pw_flow6_key, reserved)}},
      {"pw_flow6", sizeof(pw_flow6),
       {PW_FIELD(pw_flow6, backend_id), PW_FIELD(pw_flow6, target_port),
        PW_FIELD(pw_flow6, flags), PW_FIELD(pw_flow6, frontend_id),
        PW_FIELD(pw_flow6, frontend_gen), PW_FIELD(pw_flow6, backend_addr),
        PW_FIELD(pw_flow6, snat_addr), PW_FIELD(pw_flow6, last_seen_ns)}},
      {"pw_reverse6", sizeof(pw_reverse6),
       {PW_FIELD(pw_reverse6, frontend_addr), PW_FIELD(pw_reverse6, client_addr),
        PW_FIELD(pw_reverse6, frontend_port), PW_FIELD(pw_reverse6, flags),
        PW_FIELD(pw_reverse6, reserved)}},
      {"pw_fragment6_key", sizeof(pw_fragment6_key),
       {PW_FIELD(pw_fragment6_key, saddr), PW_FIELD(pw_fragment6_key, daddr),
        PW_FIELD(pw_fragment6_key, id), PW_FIELD(pw_fragment6_key, proto),
        PW_FIELD(pw_fragment6_key, reserved)}},
      {"pw_fragment6", sizeof(pw_fragment6),
       {PW_FIELD(pw_fragment6, new_saddr), PW_FIELD(pw_fragment6, new_daddr),
        PW_FIELD(pw_fragment6, frontend_id), PW_FIELD(pw_fragment6, backend_id),
        PW_FIELD(pw_fragment6, flags), PW_FIELD(pw_fragment6, reserved),
        PW_FIELD(pw_fragment6, created_ns)}},
      {"pw_sock_reverse6_key", sizeof(pw_sock_reverse6_key),
       {PW_FIELD(pw_sock_reverse6_key, cookie), PW_FIELD(pw_sock_reverse6_key, backend_addr),
        PW_FIELD(pw_sock_reverse6_key, backend_port), PW_FIELD(pw_sock_reverse6_key, pad)}},
      {"pw_sock_reverse6", sizeof(pw_sock_reverse6),
       {PW_FIELD(pw_sock_reverse6, frontend_addr), PW_FIELD(pw_sock_reverse6, frontend_port),
        PW_FIELD(pw_sock_reverse6, pad)}},
  };
}

#undef PW_FIELD

BtfPtr parse_object() { return parse_object_btf(PORTWAY_LB_BPF_OBJECT); }

TEST(LbAbiBtf, EveryStructMatchesTheCompiledObject) {
  const auto b = parse_object();
  ASSERT_TRUE(b) << "cannot parse BTF of " << PORTWAY_LB_BPF_OBJECT;
  for (const auto& want : cxx_layouts()) expect_layout_matches(b.get(), want);
}

// The test must be able to fail: a layout that differs is noticed.
TEST(LbAbiBtf, ADifferentLayoutWouldBeNoticed) {
  const auto b = parse_object();
  ASSERT_TRUE(b);
  const int id = btf__find_by_name_kind(b.get(), "pw_flow", BTF_KIND_STRUCT);
  ASSERT_GT(id, 0);
  const btf_type* t = btf__type_by_id(b.get(), static_cast<__u32>(id));
  EXPECT_NE(t->size, sizeof(pw_flow) - 8);
  EXPECT_EQ(btf__find_by_name_kind(b.get(), "pw_no_such_struct", BTF_KIND_STRUCT), -ENOENT);
}

// enum `name` of the object: value -> enumerator, and its size in bytes (0: not there).
struct EnumBtf {
  std::map<long long, std::string> values;
  std::size_t size = 0;
};

EnumBtf enum_of(const btf* b, const char* name) {
  EnumBtf out;
  const int id = btf__find_by_name_kind(b, name, BTF_KIND_ENUM);
  if (id <= 0) return out;
  const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
  out.size = t->size;
  const struct btf_enum* e = btf_enum(t);
  for (unsigned short i = 0; i < btf_vlen(t); ++i, ++e) out.values[e->val] = btf__name_by_offset(b, e->name_off);
  return out;
}

std::string upper(std::string_view prefix, std::string_view name) {
  std::string s(prefix);
  for (const char c : name) s.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return s;
}

// bpftool names drop reasons and events from the enums in the maps' BTF
// (docs/operations.md); they must be the names the loader reports, value for value.
TEST(LbAbiBtf, DropReasonEnumIsTheLoadersTable) {
  const auto b = parse_object();
  ASSERT_TRUE(b);
  const EnumBtf e = enum_of(b.get(), "pw_drop_reason");
  ASSERT_EQ(e.values.size(), static_cast<std::size_t>(PW_DROP_REASONS) + 1) << "enum pw_drop_reason not in the BTF";
  EXPECT_EQ(e.size, 4u);
  for (std::uint32_t r = 0; r < PW_DROP_REASONS; ++r)
    EXPECT_EQ(e.values.at(r), upper("PW_DROP_", loader::drop_reason_name(r))) << r;
  EXPECT_EQ(e.values.at(PW_DROP_REASONS), "PW_DROP_REASONS");
}

TEST(LbAbiBtf, EventEnumIsTheLoadersTable) {
  const auto b = parse_object();
  ASSERT_TRUE(b);
  const EnumBtf e = enum_of(b.get(), "pw_event");
  ASSERT_EQ(e.values.size(), static_cast<std::size_t>(PW_EVENTS) + 1) << "enum pw_event not in the BTF";
  for (std::uint32_t v = 0; v < PW_EVENTS; ++v)
    EXPECT_EQ(e.values.at(v), upper("PW_EV_", loader::event_name(v))) << v;
}

// Fields typed with a one-byte enum keep their byte; the enum is what bpftool prints from.
TEST(LbAbiBtf, KindAndStateAreOneByteEnums) {
  const auto b = parse_object();
  ASSERT_TRUE(b);
  for (const auto& [type, field, enum_name] :
       {std::tuple{"pw_frontend_key", "kind", "pw_frontend_kind"}, std::tuple{"pw_backend", "state", "pw_backend_state"}}) {
    SCOPED_TRACE(type);
    const int id = btf__find_by_name_kind(b.get(), type, BTF_KIND_STRUCT);
    ASSERT_GT(id, 0);
    const btf_type* t = btf__type_by_id(b.get(), static_cast<__u32>(id));
    const btf_member* m = btf_members(t);
    bool found = false;
    for (unsigned short i = 0; i < btf_vlen(t); ++i, ++m) {
      if (std::string(btf__name_by_offset(b.get(), m->name_off)) != field) continue;
      found = true;
      const btf_type* ft = btf__type_by_id(b.get(), m->type);
      ASSERT_TRUE(btf_is_enum(ft));
      EXPECT_EQ(std::string(btf__name_by_offset(b.get(), ft->name_off)), enum_name);
      EXPECT_EQ(ft->size, 1u);
    }
    EXPECT_TRUE(found);
  }
  EXPECT_EQ(enum_of(b.get(), "pw_frontend_kind").values, (std::map<long long, std::string>{
                                                             {PW_FRONTEND_SERVICE, "PW_FRONTEND_SERVICE"},
                                                             {PW_FRONTEND_NODE_PORT, "PW_FRONTEND_NODE_PORT"}}));
}

}  // namespace
}  // namespace portway::test
