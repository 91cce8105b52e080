// The generator's spec checks, the latency histogram's arithmetic, CPU lists (no root).
#include <gtest/gtest.h>

#include <stdexcept>

#include "pktgen/cpus.h"
#include "pktgen/frame_spec.h"
#include "pktgen/latency.h"
#include "pktgen/send_chunk.h"

namespace portway::pktgen {
namespace {

TEST(FrameSpec, HeaderSizesByFamilyAndProtocol) {
  FrameSpec s;
  EXPECT_EQ(header_size(s), 42);
  s.l4 = L4::tcp_syn;
  EXPECT_EQ(header_size(s), 54);
  s.src = *net::parse_ipv6("2001:2::1");
  EXPECT_EQ(header_size(s), 74);
}

TEST(FrameSpec, ConfigCarriesTheSpec) {
  FrameSpec s;
  s.src_count = 4;
  s.src_port = 5000;
  s.src_port_count = 10;
  s.flows = 25;
  s.frame_size = 128;
  const auto c = to_config(s);
  EXPECT_EQ(c.family, 4);
  EXPECT_EQ(c.l4, PORTWAY_PKTGEN_UDP);
  EXPECT_EQ(c.frame_len, 128);
  EXPECT_EQ(c.src_port_min, 5000);
  EXPECT_EQ(c.src_port_count, 10);
  EXPECT_EQ(c.src_addr_count, 4u);
  EXPECT_EQ(c.flows, 25u);
  EXPECT_EQ(c.src_addr[0], 198);
  EXPECT_EQ(c.src_addr[3], 2);
  s.flows = 0;
  EXPECT_EQ(to_config(s).flows, 40u);  // every (address, port) pair
}

TEST(FrameSpec, RejectsWhatCannotBeSent) {
  FrameSpec s;
  s.dst = *net::parse_ipv6("2001:2::1");
  EXPECT_THROW((void)to_config(s), std::invalid_argument);  // families differ
  s = {};
  s.frame_size = 41;
  EXPECT_THROW((void)to_config(s), std::invalid_argument);  // shorter than the headers
  s.frame_size = 3521;
  EXPECT_THROW((void)to_config(s), std::invalid_argument);
  s = {};
  s.src_port = 65000;
  s.src_port_count = 1000;
  EXPECT_THROW((void)to_config(s), std::invalid_argument);  // ports past 65535
  s = {};
  s.flows = 1025;  // 1 address x 1024 ports
  EXPECT_THROW((void)to_config(s), std::invalid_argument);
  s = {};
  s.src_count = 0;
  EXPECT_THROW((void)to_config(s), std::invalid_argument);
  s = {};
  s.src = net::Ipv4{0xfffffffeu};
  s.src_count = 3;
  EXPECT_THROW((void)to_config(s), std::invalid_argument);  // address range wraps
}

TEST(Latency, BucketsAreExactBelowEightThenEightPerPowerOfTwo) {
  for (std::uint64_t ns = 0; ns < 8; ++ns) EXPECT_EQ(bucket_of(ns), ns);
  EXPECT_EQ(bucket_of(8), 8u);
  EXPECT_EQ(bucket_of(15), 15u);
  EXPECT_EQ(bucket_of(16), 16u);
  EXPECT_EQ(bucket_of(17), 16u);  // 16..17 share a bucket
  EXPECT_EQ(bucket_of(18), 17u);
  // Every bucket's lower bound falls in that bucket, and the one below it in the previous one.
  for (std::uint32_t b = 1; b < PORTWAY_SINK_LATENCY_BUCKETS - 1; ++b) {
    EXPECT_EQ(bucket_of(bucket_low(b)), b);
    EXPECT_EQ(bucket_of(bucket_low(b) - 1), b - 1);
  }
  EXPECT_EQ(bucket_of(~0ull), PORTWAY_SINK_LATENCY_BUCKETS - 1);
}

TEST(Latency, PercentilesComeFromTheBuckets) {
  portway_sink_latency h{};
  EXPECT_FALSE(summarize(h).has_value());
  // 90 frames at 1,000 ns, 9 at 10,000 ns, 1 at 100,000 ns.
  h.buckets[bucket_of(1000)] = 90;
  h.buckets[bucket_of(10000)] = 9;
  h.buckets[bucket_of(100000)] = 1;
  h.stamped = 100;
  h.sum_ns = 90 * 1000 + 9 * 10000 + 100000;
  const auto s = summarize(h);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->p50_ns, bucket_low(bucket_of(1000) + 1) - 1);
  EXPECT_EQ(s->p90_ns, bucket_low(bucket_of(1000) + 1) - 1);
  EXPECT_EQ(s->p99_ns, bucket_low(bucket_of(10000) + 1) - 1);
  EXPECT_EQ(s->max_ns, bucket_low(bucket_of(100000) + 1) - 1);
  EXPECT_GE(s->p50_ns, 1000u);
  EXPECT_LT(s->p50_ns, 1125u);  // within the 12.5% bucket width
  EXPECT_DOUBLE_EQ(s->mean_ns, 2800.0);
}

// An unpaced thread's calls last about kSendCallTarget (20 ms) whatever the rate: 8,192 frames
// in 1 ms ask for 20x as many next, in 40 ms for half; within [1,024, 2^20].
TEST(SendChunk, FollowsThePreviousCallsRateToTheTarget) {
  using std::chrono::microseconds;
  using std::chrono::milliseconds;
  EXPECT_EQ(next_send_chunk(8192, milliseconds(1)), 163840u);
  EXPECT_EQ(next_send_chunk(8192, milliseconds(40)), 4096u);
  EXPECT_EQ(next_send_chunk(8192, milliseconds(20)), 8192u);
  EXPECT_EQ(next_send_chunk(1000000, microseconds(100)), kMaxSendChunk);
  EXPECT_EQ(next_send_chunk(10, std::chrono::seconds(1)), kMinSendChunk);
  EXPECT_EQ(next_send_chunk(0, milliseconds(5)), kMinSendChunk);  // a call that sent nothing
  EXPECT_EQ(next_send_chunk(8192, std::chrono::nanoseconds(0)), kMaxSendChunk);
}

TEST(Cpus, ParsesListsAndRanges) {
  EXPECT_EQ(parse_cpu_list("0"), (std::vector<int>{0}));
  EXPECT_EQ(parse_cpu_list("3,0-1,1"), (std::vector<int>{0, 1, 3}));
  EXPECT_THROW(parse_cpu_list(""), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("2-1"), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("a"), std::invalid_argument);
  EXPECT_THROW(parse_cpu_list("0,"), std::invalid_argument);
}

}  // namespace
}  // namespace portway::pktgen
