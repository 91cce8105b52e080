// libbpf's print callback lands in spdlog. Needs no privileges: opening a skeleton and
// misusing a map of an unloaded object only make libbpf talk, not the kernel.
#include "loader/libbpf_log.h"

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>

#include <array>
#include <memory>
#include <sstream>
#include <string>

#include "support/captured_log.h"
#include "xdp_sink_skeleton.h"

namespace portway::test {
namespace {

// libbpf warns when asked to open bytes that are not an ELF file: a warning we can provoke
// without the kernel.
void provoke_libbpf_warning() {
  const std::array<char, 64> not_elf{"this is not an ELF object"};
  bpf_object* obj = bpf_object__open_mem(not_elf.data(), not_elf.size(), nullptr);
  EXPECT_EQ(obj, nullptr);
  bpf_object__close(obj);  // accepts null; keeps the test honest if libbpf ever succeeds
}

TEST(LibbpfLog, WarningsReachSpdlogAtWarnLevel) {
  loader::route_libbpf_logs_to_spdlog();
  const CapturedLog log(spdlog::level::warn);
  provoke_libbpf_warning();
  const std::string text = log.text();
  EXPECT_NE(text.find("warning|libbpf: elf: "), std::string::npos) << text;
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line, trailing newline not doubled: "
                                               << text;
}

TEST(LibbpfLog, DebugMessagesOnlyWhenTheLoggerWantsThem) {
  loader::route_libbpf_logs_to_spdlog();
  {
    const CapturedLog log(spdlog::level::debug);
    (void)XdpSink::open();
    EXPECT_NE(log.text().find("debug|libbpf: "), std::string::npos) << log.text();
  }
  {
    const CapturedLog log(spdlog::level::info);
    (void)XdpSink::open();
    EXPECT_EQ(log.text().find("debug|"), std::string::npos) << log.text();
  }
}

TEST(LibbpfLog, InstallingTwiceKeepsOneRoute) {
  loader::route_libbpf_logs_to_spdlog();
  loader::route_libbpf_logs_to_spdlog();
  const CapturedLog log(spdlog::level::warn);
  provoke_libbpf_warning();
  const std::string text = log.text();
  const auto first = text.find("libbpf: ");
  ASSERT_NE(first, std::string::npos) << text;
  EXPECT_EQ(text.find("libbpf: ", first + 1), std::string::npos) << "logged twice: " << text;
}

}  // namespace
}  // namespace portway::test
