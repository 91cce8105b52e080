// Mutation run: >= 1,000,000 byte-flipped / truncated / extended variants of the fixture
// inputs through both programs, bounded by count and by time. Properties checked on every
// run: no XDP_ABORTED (nor any verdict outside the documented ones); a frame not addressed
// to a frontend address comes back byte-identical; a rewrite of a frame whose checksums were
// valid carries valid checksums, and a built reply always does; every dropped packet has
// exactly one drop reason (sampled).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <map>
#include <random>
#include <string>

#include "lb_fixture.h"
#include "lb_lab6.h"
#include "loader/error.h"
#include "support/packet_edit.h"
#include "support/root.h"

namespace portway::test::lb {
namespace {

using Frame = std::vector<std::uint8_t>;
using Clock = std::chrono::steady_clock;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

bool is_frontend_address(const Frame& f, std::size_t at) {
  for (const auto& a : {kSvcA, kSvcB, kSvcC, kSvcD, kSvcE, kSvcF, kNode, kNode2}) {
    if (std::equal(a.begin(), a.end(), f.begin() + static_cast<std::ptrdiff_t>(at))) {
      return true;
    }
  }
  return false;
}

bool is_frontend_address6(const Frame& f, std::size_t at) {
  for (const auto& a : {kSvc6A, kSvc6B, kSvc6D, kNode6, kNode6b}) {
    if (std::equal(a.begin(), a.end(), f.begin() + static_cast<std::ptrdiff_t>(at))) {
      return true;
    }
  }
  return false;
}

bool is_backend_address(const Frame& f, std::size_t at) {
  // Every lab backend lives in 198.18.128.0/23.
  return f[at] == 198 && f[at + 1] == 18 && (f[at + 2] & 0xfe) == 128;
}

bool is_backend_address6(const Frame& f, std::size_t at) {
  // Every IPv6 lab backend lives in 2001:2:0:80::/63.
  const Ipv6Address base = lab6(0x80, 0);
  return std::equal(base.begin(), base.begin() + 7, f.begin() + static_cast<std::ptrdiff_t>(at)) &&
         (f[at + 7] & 0xfe) == 0x80;
}

// A frame the programs have no business with: not untagged IPv4/IPv6, or too short to show
// its addresses, or (XDP) not addressed to a frontend address; tc also leaves alone what does
// not come from a backend (replies are recognised by their source).
bool surely_not_ours(const Frame& f, Hook hook) {
  // The uplink's tc program forwards only frames already translated: to a backend address.
  if (hook == Hook::kTcUplink) {
    if (f.size() >= kL3Offset + 40 && f[12] == 0x86 && f[13] == 0xdd) return !is_backend_address6(f, kL3Offset + 24);
    return f.size() < kL3Offset + 20 || f[12] != 0x08 || f[13] != 0x00 || !is_backend_address(f, kL3Offset + 16);
  }
  if (f.size() >= kL3Offset + 40 && f[12] == 0x86 && f[13] == 0xdd) {
    if (is_frontend_address6(f, kL3Offset + 24)) {
      return false;
    }
    return hook == Hook::kXdp || !is_backend_address6(f, kL3Offset + 8);
  }
  if (f.size() < kL3Offset + 20 || f[12] != 0x08 || f[13] != 0x00) {
    return true;
  }
  if (is_frontend_address(f, kL3Offset + 16)) {
    return false;
  }
  return hook == Hook::kXdp || !is_backend_address(f, kL3Offset + 12);
}

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  Frame mutate(const Frame& seed) {
    Frame f = seed;
    const int ops = 1 + static_cast<int>(below(3));
    for (int i = 0; i < ops; ++i) {
      switch (below(10)) {
        case 0:  // truncate (never below an Ethernet header: the kernel refuses those)
          f.resize(kL3Offset + below(static_cast<std::uint32_t>(f.size() - kL3Offset + 1)));
          break;
        case 1: {  // extend with junk
          const std::uint32_t n = 1 + below(64);
          for (std::uint32_t k = 0; k < n; ++k) {
            f.push_back(static_cast<std::uint8_t>(below(256)));
          }
          break;
        }
        case 2:  // a boundary value in the headers
          if (f.size() > kL3Offset) {
            static constexpr std::uint8_t kValues[] = {0x00, 0x01, 0x05, 0x0f, 0x40, 0x45,
                                                       0x4f, 0x50, 0x7f, 0x80, 0xf0, 0xff};
            f[header_pos(f)] = kValues[below(sizeof(kValues))];
          }
          break;
        default:  // flip bits, mostly in the headers
          if (f.size() > kL3Offset) {
            f[below(4) == 0 ? below(static_cast<std::uint32_t>(f.size())) : header_pos(f)] ^=
                static_cast<std::uint8_t>(1 + below(255));
          }
          break;
      }
    }
    // Half of the mutants get their checksums repaired, so that they reach the paths behind
    // a plausible-looking header instead of differing only by a broken checksum.
    if (below(2) == 0) {
      fix_checksums(f);
    }
    return f;
  }

  std::uint32_t below(std::uint32_t n) {
    return static_cast<std::uint32_t>(rng_() % n);
  }

 private:
  std::size_t header_pos(const Frame& f) {
    const std::size_t span = std::min<std::size_t>(f.size() - kL3Offset, 90);
    return kL3Offset + below(static_cast<std::uint32_t>(span));
  }

  std::mt19937_64 rng_;
};

// What BPF_PROG_TEST_RUN refuses for tc (6.18): more linear skb data than a page minus skb
// overhead, and IPv4 / IPv6 frames shorter than their network header (LbTcTestRun pins this).
bool tc_test_run_refuses(const Frame& f) {
  constexpr std::size_t kTcTestRunMax = 3000;
  const std::uint16_t ethertype = static_cast<std::uint16_t>(f[12] << 8 | f[13]);
  return f.size() > kTcTestRunMax || (ethertype == 0x0800 && f.size() < kL3Offset + 20) ||
         (ethertype == 0x86dd && f.size() < kL3Offset + 40);
}

bool valid_verdict(Hook hook, std::uint32_t v) {
  return hook == Hook::kXdp ? (v == kXdpDrop || v == kXdpPass || v == kXdpTx || v == kXdpRedirect)
                            : (v == kTcOk || v == kTcShot || v == kTcRedirect);
}

TEST(LbMutation, MutatedPacketsNeverAbortAndKeepTheirPromises) {
  PORTWAY_REQUIRE_ROOT();
  const std::uint64_t target = env_or("PORTWAY_MUTATION_PACKETS", 1'000'000);
  const auto limit = std::chrono::seconds(env_or("PORTWAY_MUTATION_SECONDS", 120));
  const std::uint64_t seed = env_or("PORTWAY_MUTATION_SEED", 0x706f727477617931ull);

  LbLab lab;
  std::vector<std::pair<Hook, Frame>> seeds;
  for (const auto& fixture : all_fixtures()) {
    for (const auto& step : fixture.steps) {
      seeds.emplace_back(step.hook, step.input);
    }
  }
  ASSERT_GT(seeds.size(), 100u);
  Mutator mut(seed);

  std::map<std::string, std::uint64_t> verdicts;
  std::uint64_t runs = 0;
  std::uint64_t rewritten = 0;
  std::uint64_t untouched_checked = 0;
  std::uint64_t checksum_checked = 0;
  std::uint64_t drop_checked = 0;
  std::uint64_t failures = 0;
  std::uint64_t refused = 0;
  const auto start = Clock::now();
  const auto report = [&](const std::string& what, const Frame& in, const Frame& out) {
    if (++failures <= 10) {
      ADD_FAILURE() << what << " (run " << runs << ", seed " << seed << ")\n"
                    << describe_difference(in, out);
    }
  };

  while (runs < target && Clock::now() - start < limit) {
    const auto& [origin, base] = seeds[mut.below(static_cast<std::uint32_t>(seeds.size()))];
    // Now and then the unmutated seed, so flows, reverse entries and fragment records exist
    // for the mutants of later seeds to run into.
    const Frame in = mut.below(16) == 0 ? base : mut.mutate(base);
    // The seed's own program, or one of the other two.
    static constexpr Hook kHooks[] = {Hook::kXdp, Hook::kTc, Hook::kTcUplink};
    const Hook hook = mut.below(2) == 0 ? origin : kHooks[mut.below(3)];
    const bool sample_drops = runs % 64 == 0;
    std::array<std::uint64_t, PW_DROP_REASONS> before{};
    if (sample_drops) {
      before = lab.maps().all_drops();
    }

    loader::TestRunResult r;
    try {
      r = hook == Hook::kXdp ? lab.run_xdp(in) : hook == Hook::kTc ? lab.run_tc(in) : lab.run_tc_uplink(in);
    } catch (const loader::Error& e) {
      // The kernel refuses some tc test runs (tc_test_run_refuses); the program never saw
      // those, nothing to check.
      if (hook != Hook::kXdp && tc_test_run_refuses(in)) {
        ++refused;
        continue;
      }
      report(std::string{"test run refused: "} + e.what() + ", " + std::to_string(in.size()) +
                 " bytes",
             in, in);
      continue;
    }
    ++runs;
    verdicts[(hook == Hook::kXdp ? "xdp " : hook == Hook::kTc ? "tc " : "tc_uplink ") + std::to_string(r.retval)]++;

    if (!valid_verdict(hook, r.retval)) {
      report("verdict " + std::to_string(r.retval), in, r.output);
      continue;
    }
    if (surely_not_ours(in, hook)) {
      ++untouched_checked;
      if (r.output != in || r.retval != (hook == Hook::kXdp ? kXdpPass : kTcOk)) {
        report("a frame not for a frontend was not passed untouched", in, r.output);
      }
    }
    if (r.output != in) {
      ++rewritten;
      const bool reply = (hook == Hook::kXdp && r.retval == kXdpTx) ||
                         r.output.size() != in.size();
      const bool input_valid = !checksum_problem(in) && !checksum6_problem(in);
      if (reply || input_valid) {
        ++checksum_checked;
        // A reply quotes the offending header as it came: only the reply's own checksums
        // are promised when that header was already broken.
        if (const auto problem = checksum_problem(r.output, input_valid)) {
          report("rewritten frame: " + *problem, in, r.output);
        }
        if (const auto problem = checksum6_problem(r.output)) {
          report("rewritten IPv6 frame: " + *problem, in, r.output);
        }
      }
      if (r.retval == (hook == Hook::kXdp ? kXdpDrop : kTcShot)) {
        report("a dropped frame was modified", in, r.output);
      }
    }
    if (sample_drops) {
      const auto after = lab.maps().all_drops();
      std::uint64_t counted = 0;
      for (std::size_t i = 0; i < after.size(); ++i) {
        counted += after[i] - before[i];
      }
      const bool dropped_it = r.retval == (hook == Hook::kXdp ? kXdpDrop : kTcShot);
      // A drop has exactly one reason; a pass never counts one. (MAP_FULL is counted for a
      // forwarded packet, and replies count their reason: only the two clear cases here.)
      if (dropped_it && counted != 1) {
        report("drop counted " + std::to_string(counted) + " reasons", in, r.output);
      }
      if ((r.retval == kXdpPass && hook == Hook::kXdp) && r.output == in && counted != 0) {
        report("untouched pass counted a drop", in, r.output);
      }
      ++drop_checked;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();

  std::cout << "mutation run: " << runs << " packets in " << secs << " s (seed " << seed
            << "), " << seeds.size() << " seeds, " << rewritten << " rewritten, "
            << untouched_checked << " checked untouched, " << checksum_checked
            << " checksums verified, " << drop_checked << " drop counts sampled, " << refused
            << " refused by the kernel\n";
  for (const auto& [v, n] : verdicts) {
    std::cout << "  verdict " << v << ": " << n << "\n";
  }
  RecordProperty("mutated_packets", static_cast<int>(runs));
  EXPECT_EQ(failures, 0u);
  EXPECT_GE(runs, target) << "time limit reached first: raise PORTWAY_MUTATION_SECONDS";
}

}  // namespace
}  // namespace portway::test::lb
