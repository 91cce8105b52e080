// Shared fixtures for the model tests: a fresh SQLite store in a temp dir, app.toml text to
// a resolved App, and the address pools tests use (benchmarking ranges only: 198.18.0.0/15
// and 2001:2::/48, docs/testing.md "Rules every test follows").
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include "config/app_model.h"
#include "model/app_ops.h"
#include "model/reconcile.h"
#include "model_support/temp_dir.h"
#include "net/ip_prefix.h"
#include "store/sqlite_store.h"

namespace portway::testing {

// Fails the test (and throws) if the text is not a valid app.
config::App parse_app(std::string_view toml);

net::Ipv4Prefix v4(std::string_view cidr);
net::Ipv6Prefix v6(std::string_view cidr);
net::Ipv4 ip4(std::string_view a);
net::Ipv6 ip6(std::string_view a);

model::AddressPools pools(std::string_view cidr = "198.18.0.0/15", std::string_view cidr6 = "");

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // apply_app in its own committed transaction; throws what apply_app throws.
  model::ApplyResult apply(const std::string& toml, const model::AddressPools& p);
  model::ApplyResult apply(const std::string& toml) { return apply(toml, pools_); }
  std::uint64_t generation();
  std::vector<store::ServiceRecord> services();
  std::vector<store::NodePortClaim> claims();
  std::optional<store::ServiceRecord> service(std::string_view id);

  TempDir dir_;
  std::string path_;
  std::unique_ptr<store::SqliteStore> store_;
  model::AddressPools pools_ = pools("198.18.0.0/15", "2001:2::/48");
};

}  // namespace portway::testing
