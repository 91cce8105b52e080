// lib/prefilter.h as the programs run it, through a probe program (prefilter_probe.bpf.c) whose
// pw_prefilter the test writes directly: both families, against the controller's reading of the
// same entry (prefilter_admits) and a node's content (build_prefilter).
#include <arpa/inet.h>

#include <cstring>
#include <memory>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>

#include "dataplane/xdp/prefilter.h"
#include "loader/error.h"
#include "loader/prog_test_run.h"
#include "prefilter_probe.skel.h"
#include "support/root.h"

namespace portway::test {
namespace {

struct ProbeDeleter {
  void operator()(prefilter_probe* p) const { prefilter_probe__destroy(p); }
};

class Probe {
 public:
  Probe() : skel_(prefilter_probe__open()) {
    if (!skel_) throw loader::Error("open prefilter probe", errno, "");
    // The probe only reads pw_prefilter; every other map of lib/maps.h comes along with the
    // header and is made as small as the kernel allows.
    bpf_map* m;
    bpf_object__for_each_map(m, skel_->obj) {
      if (bpf_map__max_entries(m) > 1) loader::check(bpf_map__set_max_entries(m, 1), "size map");
    }
    loader::check(prefilter_probe__load(skel_.get()), "load prefilter probe");
  }
  void set(const pw_prefilter& pf) {
    const std::uint32_t zero = 0;
    loader::check(bpf_map_update_elem(bpf_map__fd(skel_->maps.pw_prefilter), &zero, &pf, BPF_ANY),
                  "write pw_prefilter");
  }
  // The program's answer for one address.
  bool admits(const net::IpAddress& a) const {
    std::vector<std::uint8_t> frame(24);
    if (const auto* v4 = std::get_if<net::Ipv4>(&a)) {
      frame[0] = 4;
      const std::uint32_t be = htonl(v4->value);
      std::memcpy(frame.data() + 4, &be, 4);
    } else {
      frame[0] = 6;
      std::memcpy(frame.data() + 8, std::get<net::Ipv6>(a).bytes.data(), 16);
    }
    const auto r = loader::test_run(bpf_program__fd(skel_->progs.pw_prefilter_probe), frame);
    EXPECT_TRUE(r.retval == 1 || r.retval == 2) << "verdict " << r.retval;
    return r.retval == 2;  // XDP_PASS
  }

 private:
  std::unique_ptr<prefilter_probe, ProbeDeleter> skel_;
};

std::vector<net::IpAddress> samples() {
  std::vector<net::IpAddress> out;
  for (const char* s : {"198.19.0.0", "198.19.255.255", "198.18.0.1", "198.18.0.2", "198.18.0.3",
                        "198.20.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.1"})
    out.push_back(*net::parse_ipv4(s));
  for (const char* s : {"2001:2:0:1::", "2001:2:0:1:ffff:ffff:ffff:ffff", "2001:2::1", "2001:2::2",
                        "2001:2:0:2::1", "::", "fe80::1", "ffff::1"})
    out.push_back(*net::parse_ipv6(s));
  return out;
}

TEST(PrefilterProbe, EmptyEntryAdmitsEverything) {
  PORTWAY_REQUIRE_ROOT();
  Probe probe;
  for (const auto& a : samples()) EXPECT_TRUE(probe.admits(a));
}

TEST(PrefilterProbe, ANodesFilterAnswersAsTheControllerReadsIt) {
  PORTWAY_REQUIRE_ROOT();
  Probe probe;
  dataplane::xdp::PrefilterInput node{*net::parse_ipv4_prefix("198.19.0.0/16"),
                                      net::Ipv6Prefix{*net::parse_ipv6("2001:2:0:1::"), 64},
                                      {*net::parse_ipv4("198.18.0.1"), *net::parse_ipv4("198.18.0.2")},
                                      {*net::parse_ipv6("2001:2::1")}};
  const pw_prefilter pf = dataplane::xdp::build_prefilter(node, {});
  ASSERT_EQ(pf.flags, PW_PREFILTER_ON4 | PW_PREFILTER_ON6);
  probe.set(pf);
  std::size_t admitted = 0;
  for (const auto& a : samples()) {
    const bool want = dataplane::xdp::prefilter_admits(pf, a);
    EXPECT_EQ(probe.admits(a), want) << std::visit([](const auto& x) { return net::to_string(x); }, a);
    admitted += want;
  }
  EXPECT_EQ(admitted, 7u);  // 4 IPv4 + 3 IPv6 samples are the node's
}

TEST(PrefilterProbe, EachFamilyFollowsOnlyItsOwnFlagAndCount) {
  PORTWAY_REQUIRE_ROOT();
  Probe probe;
  pw_prefilter pf{};
  pf.count4 = 1;  // 198.18.0.1/32, but ON4 off
  pf.v4[0].addr = htonl(0xC6120001u);
  pf.v4[0].mask = 0xFFFFFFFFu;
  pf.flags = PW_PREFILTER_ON6;  // ON6 with no entry: no IPv6 destination is the node's
  probe.set(pf);
  EXPECT_TRUE(probe.admits(*net::parse_ipv4("10.0.0.1")));
  EXPECT_FALSE(probe.admits(*net::parse_ipv6("2001:2::1")));
  // Entries beyond count6 are not read.
  pf.v6[0].mask.w[0] = 0;  // ::/0, unused while count6 == 0
  probe.set(pf);
  EXPECT_FALSE(probe.admits(*net::parse_ipv6("2001:2::1")));
  pf.count6 = 1;
  probe.set(pf);
  EXPECT_TRUE(probe.admits(*net::parse_ipv6("2001:2::1")));
}

}  // namespace
}  // namespace portway::test
