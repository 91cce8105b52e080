#include "model_support/fixtures.h"

#include <stdexcept>

#include "config/app_parser.h"

namespace portway::testing {

config::App parse_app(std::string_view toml) {
  auto out = config::parse_app(toml, "app.toml");
  if (!out.ok()) {
    ADD_FAILURE() << "fixture app does not parse: " << config::to_string(out.errors.front());
    throw std::runtime_error("bad fixture");
  }
  return *out.app;
}

net::Ipv4Prefix v4(std::string_view cidr) { return net::parse_ipv4_prefix(cidr).value(); }
net::Ipv6Prefix v6(std::string_view cidr) { return net::parse_ipv6_prefix(cidr).value(); }
net::Ipv4 ip4(std::string_view a) { return net::parse_ipv4(a).value(); }
net::Ipv6 ip6(std::string_view a) { return net::parse_ipv6(a).value(); }

model::AddressPools pools(std::string_view cidr, std::string_view cidr6) {
  model::AddressPools p{model::Ipv4Pool(v4(cidr)), std::nullopt, {}, {}};
  if (!cidr6.empty()) p.ipv6.emplace(v6(cidr6));
  return p;
}

void StoreTest::SetUp() {
  path_ = dir_.file("state.db");
  store_ = store::SqliteStore::open(path_);
}

model::ApplyResult StoreTest::apply(const std::string& toml, const model::AddressPools& p) {
  const config::App app = parse_app(toml);
  auto tx = store_->begin_write();
  auto result = model::apply_app(*tx, toml, app, p, 1000);
  tx->commit();
  return result;
}

std::uint64_t StoreTest::generation() { return store_->begin_read()->generation(); }
std::vector<store::ServiceRecord> StoreTest::services() { return store_->begin_read()->services(); }
std::vector<store::NodePortClaim> StoreTest::claims() { return store_->begin_read()->claims(); }
std::optional<store::ServiceRecord> StoreTest::service(std::string_view id) {
  return store_->begin_read()->find_service(id);
}

}  // namespace portway::testing
