// What the map tests of both families share: small capacities, and the loader error check.
#pragma once

#include <gtest/gtest.h>

#include "loader/error.h"
#include "loader/lb_capacities.h"

namespace portway::test::lb {

inline loader::LbCapacities small_caps() {
  return {.frontends = 100,
          .service_addrs = 50,
          .node_addrs = 4,
          .backends = 200,
          .backend_sets = 10,
          .maglev_slots = 16384,
          .flows = 1000,
          .fragments = 64};
}

// `f()` throws a loader::Error with error code `err`.
template <typename F>
void expect_error(F&& f, int err, const char* what) {
  try {
    f();
    ADD_FAILURE() << what << ": no loader::Error";
  } catch (const loader::Error& e) {
    EXPECT_EQ(e.error_code(), err) << what << ": " << e.what();
  }
}

}  // namespace portway::test::lb
