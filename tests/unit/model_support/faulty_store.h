// A Store decorator for fault injection: every call goes to the real store, except that
// put_service can be made to fail for chosen Service ids, and a hook can run before each
// put_service (to crash the process at a precise point). This is how tests reach "an ensure
// failed" without any test-only switch in product code.
#pragma once

#include <functional>
#include <memory>
#include <set>
#include <string>

#include "store/store.h"

namespace portway::testing {

class FaultyStore final : public store::Store {
 public:
  explicit FaultyStore(store::Store& inner) : inner_(inner) {}

  std::set<std::string, std::less<>> fail_put_service;  // ids whose put_service throws
  std::function<void(const store::ServiceRecord&)> before_put_service;
  int put_service_calls = 0;
  int delete_service_calls = 0;

  std::unique_ptr<store::Transaction> begin_read() override;
  std::unique_ptr<store::Transaction> begin_write() override;

 private:
  store::Store& inner_;
};

}  // namespace portway::testing
