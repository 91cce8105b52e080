// What `portway sandbox add` accepts: table-driven over each field.
#include <gtest/gtest.h>

#include "model/errors.h"
#include "model/sandbox_input.h"

namespace portway::model {
namespace {

SandboxInput valid() {
  SandboxInput in;
  in.app = "irc";
  in.service = "irc";
  in.ipv4 = "198.18.10.2";
  return in;
}

TEST(SandboxInput, AValidRegistration) {
  auto in = valid();
  in.id = "sb-1";
  in.ipv6 = "2001:2::10:2";
  in.iface = "veth-sb1";
  in.labels = {"tier=edge", "example.com/owner=team-a", "empty="};
  const auto v = validate_sandbox(in, 77);
  ASSERT_TRUE(v.record) << (v.errors.empty() ? "" : v.errors[0]);
  EXPECT_EQ(v.record->id, "sb-1");
  EXPECT_EQ(net::to_string(*v.record->ipv4), "198.18.10.2");
  EXPECT_EQ(net::to_string(*v.record->ipv6), "2001:2::10:2");
  EXPECT_EQ(v.record->state, store::SandboxState::running);
  EXPECT_EQ(v.record->changed_at_ms, 77);
  EXPECT_EQ(v.record->labels, (store::Labels{{"app", "irc"}, {"service", "irc"}, {"tier", "edge"},
                                             {"example.com/owner", "team-a"}, {"empty", ""}}));
}

TEST(SandboxInput, EveryErrorAtOnce) {
  SandboxInput in;
  in.id = "-bad";
  in.app = "Irc";
  in.service = "";
  in.ipv4 = "nope";
  in.ipv6 = "1.2.3.4";
  in.iface = "eth0/1";
  in.labels = {"novalue", "app=x", "k=v", "k=w"};
  const auto v = validate_sandbox(in, 0);
  EXPECT_FALSE(v.record);
  EXPECT_EQ(v.errors, (std::vector<std::string>{
                          "--id \"-bad\": a sandbox id is 1-128 characters: letters, digits, '.', '_', ':' and '-', starting with a letter or digit",
                          "--app \"Irc\": an app name is lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or digit",
                          "--service \"\": a service name is lowercase letters, digits and '-', 1-63 characters, starting and ending with a letter or digit",
                          "--ip \"nope\" is not an IPv4 address",
                          "--ip6 \"1.2.3.4\" is not an IPv6 address",
                          "--iface \"eth0/1\": an interface name is 1-15 characters: letters, digits, '.', '_' and '-' (not \".\" or \"..\")",
                          "label \"novalue\" is not KEY=VALUE",
                          "label \"app\" is set from --app, not --label",
                          "label \"k\" is given twice",
                      }));
}

TEST(SandboxInput, Addresses) {
  struct Case {
    const char* text;
    bool ok;
  } v4[] = {{"198.18.0.1", true},  {"10.1.2.3", true},       {"0.0.0.0", false},
            {"0.1.2.3", false},    {"127.0.0.1", false},     {"224.0.0.1", false},
            {"239.1.1.1", false},  {"240.0.0.1", false},     {"255.255.255.255", false},
            {"1.2.3", false},      {"01.2.3.4", false},      {"1.2.3.4 ", false},
            {"1.2.3.256", false},  {"", false}},
    v6[] = {{"2001:2::1", true}, {"fe80::1", true}, {"::", false}, {"::1", false},
            {"ff02::1", false},  {"2001:2::g", false}, {"", false}};
  for (const auto& c : v4) EXPECT_EQ(!ipv4_sandbox_error(c.text), c.ok) << c.text;
  for (const auto& c : v6) EXPECT_EQ(!ipv6_sandbox_error(c.text), c.ok) << c.text;
  EXPECT_TRUE(ipv4_sandbox_error(std::string_view("1.2.3.4\0junk", 12))) << "embedded NUL";
}

// A sandbox has an IPv4 address, an IPv6 address or both (docs/model.md "Address families").
TEST(SandboxInput, EitherFamilyOrBothButNotNeither) {
  auto v6_only = valid();
  v6_only.ipv4.reset();
  v6_only.ipv6 = "2001:2::10:6";
  const auto v = validate_sandbox(v6_only, 1);
  ASSERT_TRUE(v.record) << (v.errors.empty() ? "" : v.errors[0]);
  EXPECT_FALSE(v.record->ipv4);
  EXPECT_EQ(net::to_string(*v.record->ipv6), "2001:2::10:6");

  auto v4_only = valid();
  ASSERT_TRUE(validate_sandbox(v4_only, 1).record);
  EXPECT_FALSE(validate_sandbox(v4_only, 1).record->ipv6);

  auto neither = valid();
  neither.ipv4.reset();
  const auto refused = validate_sandbox(neither, 1);
  EXPECT_FALSE(refused.record);
  EXPECT_EQ(refused.errors, std::vector<std::string>{"a sandbox needs an address: give --ip (IPv4), --ip6 (IPv6) or both"});

  auto bad_v6_only = valid();
  bad_v6_only.ipv4.reset();
  bad_v6_only.ipv6 = "::1";
  EXPECT_FALSE(validate_sandbox(bad_v6_only, 1).record) << "an IPv6-only sandbox is checked as strictly";
}

TEST(SandboxInput, InterfaceNames) {
  for (const char* ok : {"veth0", "pw-sb.1", "a", "abcdefghijklmno"}) EXPECT_TRUE(is_iface_name(ok)) << ok;
  for (const char* bad : {"", ".", "..", "abcdefghijklmnop", "a b", "a/b", "a:b", "a\"b", "a\nb", "é"}) {
    EXPECT_FALSE(is_iface_name(bad)) << bad;
  }
}

TEST(SandboxInput, Ids) {
  for (const char* ok : {"sb-1", "A", "pod:abc_1.2"}) EXPECT_TRUE(is_sandbox_id(ok)) << ok;
  for (const char* bad : {"", "-a", ".a", "a/b", "a b", "a;b", "a\tb"}) EXPECT_FALSE(is_sandbox_id(bad)) << bad;
  EXPECT_TRUE(is_sandbox_id(std::string(128, 'a')));
  EXPECT_FALSE(is_sandbox_id(std::string(129, 'a')));
}

TEST(SandboxInput, Labels) {
  for (const char* ok : {"k=v", "k=", "a.b/c=d", "x-y_z.1=A-b_c.9", "example.com/k=v"}) {
    EXPECT_FALSE(label_error(ok)) << ok;
  }
  for (const char* bad : {"k", "=v", "k=-v", "k=v-", "-k=v", "/k=v", "Ex.com/k=v", "k=a b", "k=\"v\"",
                          "a..b/k=v"}) {
    EXPECT_TRUE(label_error(bad)) << bad;
  }
  EXPECT_FALSE(label_error(std::string(63, 'k') + "=" + std::string(63, 'v')));
  EXPECT_TRUE(label_error(std::string(64, 'k') + "=v"));
  EXPECT_TRUE(label_error("k=" + std::string(64, 'v')));
}

TEST(PrintableQuoted, NeutralisesControlCharacters) {
  EXPECT_EQ(printable_quoted("ok"), "\"ok\"");
  EXPECT_EQ(printable_quoted(std::string_view("a\nb\0\"\\", 6)), "\"a\\x0ab\\x00\\x22\\x5c\"");
  EXPECT_EQ(printable_quoted(std::string(100, 'x')), "\"" + std::string(80, 'x') + "...\"");
}

}  // namespace
}  // namespace portway::model
