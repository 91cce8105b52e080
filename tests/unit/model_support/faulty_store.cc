#include "model_support/faulty_store.h"

namespace portway::testing {
namespace {

using namespace portway::store;

class FaultyTransaction final : public Transaction {
 public:
  FaultyTransaction(std::unique_ptr<Transaction> inner, FaultyStore& owner)
      : inner_(std::move(inner)), owner_(owner) {}

  bool writable() const override { return inner_->writable(); }
  std::optional<AppRecord> find_app(std::string_view n) override { return inner_->find_app(n); }
  std::vector<AppRecord> apps() override { return inner_->apps(); }
  void put_app(const AppRecord& a) override { inner_->put_app(a); }
  bool delete_app(std::string_view n) override { return inner_->delete_app(n); }
  std::optional<ServiceRecord> find_service(std::string_view id) override { return inner_->find_service(id); }
  std::vector<ServiceRecord> services() override { return inner_->services(); }
  std::vector<ServiceRecord> services_of_app(std::string_view a) override { return inner_->services_of_app(a); }

  void put_service(const ServiceRecord& s) override {
    ++owner_.put_service_calls;
    if (owner_.before_put_service) owner_.before_put_service(s);
    if (owner_.fail_put_service.count(s.id)) throw StoreError("injected failure for " + s.id);
    inner_->put_service(s);
  }

  bool delete_service(std::string_view id) override {
    ++owner_.delete_service_calls;
    return inner_->delete_service(id);
  }

  std::vector<net::Ipv4> allocated_ipv4(net::Ipv4 a, net::Ipv4 b, std::size_t n) override {
    return inner_->allocated_ipv4(a, b, n);
  }
  std::vector<net::Ipv6> allocated_ipv6(const net::Ipv6& a, const net::Ipv6& b, std::size_t n) override {
    return inner_->allocated_ipv6(a, b, n);
  }
  std::vector<NodePortClaim> claims() override { return inner_->claims(); }
  void replace_claims(std::string_view app, const std::vector<NodePortClaim>& c) override {
    inner_->replace_claims(app, c);
  }
  std::optional<ServiceRanges> service_ranges() override { return inner_->service_ranges(); }
  void put_service_ranges(const ServiceRanges& r) override { inner_->put_service_ranges(r); }
  std::optional<SandboxRecord> find_sandbox(std::string_view id) override { return inner_->find_sandbox(id); }
  std::vector<SandboxRecord> sandboxes() override { return inner_->sandboxes(); }
  void put_sandbox(const SandboxRecord& s) override { inner_->put_sandbox(s); }
  bool delete_sandbox(std::string_view id) override { return inner_->delete_sandbox(id); }
  std::uint64_t generation() override { return inner_->generation(); }
  std::optional<ChangeSet> changes_since(std::uint64_t g) override { return inner_->changes_since(g); }
  void commit() override { inner_->commit(); }

 private:
  std::unique_ptr<Transaction> inner_;
  FaultyStore& owner_;
};

}  // namespace

std::unique_ptr<store::Transaction> FaultyStore::begin_read() {
  return std::make_unique<FaultyTransaction>(inner_.begin_read(), *this);
}

std::unique_ptr<store::Transaction> FaultyStore::begin_write() {
  return std::make_unique<FaultyTransaction>(inner_.begin_write(), *this);
}

}  // namespace portway::testing
