// The Prometheus text renderer: every family with HELP and TYPE, counters ending in _total,
// Service labels from the owners, escaping, histogram buckets.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "daemon/prometheus_text.h"

namespace portway::daemon {
namespace {

dataplane::Stats sample_stats() {
  dataplane::Stats s;
  s.frontends["198.18.0.7:6667/tcp"] = {10, 1000, 2, 1};
  s.frontends["node:6697/tcp"] = {3, 300, 1, 0};
  s.frontends["198.18.0.9:53/udp"] = {1, 60, 1, 0};  // no owner: programmed by nobody we know
  s.backends["svc/irc/irc 198.18.1.2"] = {7, 700, 2, 0};
  s.drops["bad_header"] = 4;
  s.events["flow_insert"] = 2;
  s.frontend_owners["198.18.0.7:6667/tcp"] = {"svc/irc/irc", "irc", "tcp"};
  s.frontend_owners["node:6697/tcp"] = {"svc/irc/irc", "irc-tls", "tcp"};
  s.backend_owners["svc/irc/irc 198.18.1.2"] = {"svc/irc/irc", "198.18.1.2"};
  return s;
}

DaemonStatus sample_status() {
  DaemonStatus d;
  d.dataplane = "xdp";
  d.reason = "requested";
  d.store_generation = 7;
  d.programmed_generation = 6;
  d.drift_repairs["nft_table"] = 2;
  d.sync_seconds.observe(0.0003);
  d.sync_seconds.observe(0.002);
  d.sync_seconds.observe(20);  // above every bound: only in +Inf
  return d;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(PrometheusText, EveryFamilyHasHelpAndTypeBeforeItsSamples) {
  const auto stats = sample_stats();
  const auto status = sample_status();
  const std::string text = render_prometheus({.stats = &stats, .dataplane = "xdp", .reason = "requested", .daemon = &status});
  std::set<std::string> helped, typed;
  std::map<std::string, std::string> type_of;
  const std::regex sample(R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$)");
  for (const auto& l : lines_of(text)) {
    std::smatch m;
    if (l.rfind("# HELP ", 0) == 0) {
      helped.insert(l.substr(7, l.find(' ', 7) - 7));
    } else if (l.rfind("# TYPE ", 0) == 0) {
      const auto name = l.substr(7, l.find(' ', 7) - 7);
      EXPECT_TRUE(helped.count(name)) << "TYPE before HELP: " << l;
      typed.insert(name);
      type_of[name] = l.substr(l.rfind(' ') + 1);
    } else {
      ASSERT_TRUE(std::regex_match(l, m, sample)) << "not a sample line: " << l;
      std::string family = m[1];
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        if (!typed.count(family) && family.ends_with(suffix)) family = family.substr(0, family.size() - std::strlen(suffix));
      EXPECT_TRUE(typed.count(family)) << "sample without HELP/TYPE: " << l;
      EXPECT_EQ(family.rfind("portway_", 0), 0u) << l;
    }
  }
  for (const auto& [name, type] : type_of) {
    if (type == "counter") {
      EXPECT_TRUE(name.ends_with("_total")) << name;
    }
  }
  for (const char* required : {"portway_frontend_packets_total", "portway_frontend_bytes_total",
                               "portway_frontend_new_flows_total", "portway_frontend_rejects_total",
                               "portway_backend_packets_total", "portway_backend_bytes_total",
                               "portway_backend_new_flows_total", "portway_backend_rejects_total",
                               "portway_drops_total", "portway_sync_seconds", "portway_store_generation",
                               "portway_programmed_generation", "portway_drift_repairs_total",
                               "portway_dataplane_info"})
    EXPECT_TRUE(typed.count(required)) << required;
  EXPECT_EQ(type_of["portway_sync_seconds"], "histogram");
}

TEST(PrometheusText, SeriesCarryServicePortProtocolAndBackend) {
  const auto stats = sample_stats();
  const std::string text = render_prometheus({.stats = &stats, .dataplane = "nft", .reason = "fallback", .daemon = nullptr});
  EXPECT_NE(text.find("portway_frontend_packets_total{service=\"svc/irc/irc\",port=\"irc\",protocol=\"tcp\","
                      "frontend=\"198.18.0.7:6667/tcp\"} 10\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_frontend_rejects_total{service=\"svc/irc/irc\",port=\"irc-tls\",protocol=\"tcp\","
                      "frontend=\"node:6697/tcp\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_frontend_bytes_total{service=\"\",port=\"\",protocol=\"udp\","
                      "frontend=\"198.18.0.9:53/udp\"} 60\n"), std::string::npos) << "an unowned frontend keeps its labels";
  EXPECT_NE(text.find("portway_backend_new_flows_total{service=\"svc/irc/irc\",backend=\"198.18.1.2\"} 2\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("portway_drops_total{reason=\"bad_header\"} 4\n"), std::string::npos);
  EXPECT_NE(text.find("portway_dataplane_info{dataplane=\"nft\",reason=\"fallback\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find("portway_store_generation"), std::string::npos) << "no daemon families without a daemon";
}

TEST(PrometheusText, HistogramBucketsAreCumulativeWithInf) {
  const auto status = sample_status();
  const std::string text = render_prometheus({.stats = nullptr, .dataplane = "", .reason = "", .daemon = &status});
  EXPECT_NE(text.find("portway_sync_seconds_bucket{le=\"0.0001\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_sync_seconds_bucket{le=\"0.0005\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_sync_seconds_bucket{le=\"0.0025\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_sync_seconds_bucket{le=\"10\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_sync_seconds_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_sync_seconds_count 3\n"), std::string::npos);
  EXPECT_NE(text.find("portway_sync_seconds_sum 20.0023\n"), std::string::npos) << text;
  EXPECT_NE(text.find("portway_store_generation 7\n"), std::string::npos);
  EXPECT_NE(text.find("portway_programmed_generation 6\n"), std::string::npos);
  EXPECT_NE(text.find("portway_drift_repairs_total{kind=\"nft_table\"} 2\n"), std::string::npos);
  EXPECT_EQ(text.find("portway_dataplane_info{"), std::string::npos) << "no dataplane yet: the family without samples";
  EXPECT_NE(text.find("# TYPE portway_dataplane_info gauge\n"), std::string::npos);
}

TEST(PrometheusText, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  dataplane::Stats s;
  s.drops["we\"ird\\"] = 1;
  const std::string text = render_prometheus({.stats = &s, .dataplane = "xdp", .reason = "line\nbreak", .daemon = nullptr});
  EXPECT_NE(text.find("portway_drops_total{reason=\"we\\\"ird\\\\\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("reason=\"line\\nbreak\""), std::string::npos) << text;
}

}  // namespace
}  // namespace portway::daemon
