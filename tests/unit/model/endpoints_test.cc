// Endpoints: app AND service match, running or draining, level-triggered.
#include <gtest/gtest.h>

#include "model/endpoints.h"
#include "model_support/fixtures.h"

namespace portway::model {
namespace {

using store::SandboxState;

store::SandboxRecord sb(const char* id, const char* app, const char* service, SandboxState st) {
  return {id, app, service, {}, testing::ip4("198.18.10.1"), {}, "", st, 0};
}

std::vector<std::string> ids(std::span<const store::SandboxRecord* const> eps) {
  std::vector<std::string> out;
  for (const auto* e : eps) out.push_back(e->id);
  return out;
}

TEST(Endpoints, MatchAppAndServiceNotAppAlone) {
  // Miren matched on app only: a second service of the same app listening on the same port
  // leaked into the first one's endpoints.
  const std::vector<store::SandboxRecord> all{
      sb("web-1", "shop", "web", SandboxState::running),
      sb("worker-1", "shop", "worker", SandboxState::running),
      sb("other-web", "blog", "web", SandboxState::running),
  };
  const EndpointIndex index(all);
  EXPECT_EQ(ids(index.of({"shop", "web"})), std::vector<std::string>{"web-1"});
  EXPECT_EQ(ids(index.of({"shop", "worker"})), std::vector<std::string>{"worker-1"});
  EXPECT_TRUE(index.of({"shop", "cron"}).empty());
  EXPECT_TRUE(index.of({"shopx", "web"}).empty());
}

TEST(Endpoints, RunningAndDrainingButNotStopped) {
  const std::vector<store::SandboxRecord> all{
      sb("c", "a", "s", SandboxState::running),
      sb("a", "a", "s", SandboxState::draining),
      sb("b", "a", "s", SandboxState::stopped),
  };
  EXPECT_EQ(ids(EndpointIndex(all).of({"a", "s"})), (std::vector<std::string>{"a", "c"}))
      << "stopped excluded, ordered by id";
}

TEST(Endpoints, DoNotDependOnRegistrationOrder) {
  std::vector<store::SandboxRecord> all;
  for (int i = 9; i >= 0; --i) {
    all.push_back(sb(("x" + std::to_string(i)).c_str(), i % 2 ? "a" : "b", "s", SandboxState::running));
  }
  const EndpointIndex fwd(all);
  // A separate vector: the index points into the records it was built from.
  const std::vector<store::SandboxRecord> reversed(all.rbegin(), all.rend());
  const EndpointIndex rev(reversed);
  EXPECT_EQ(ids(fwd.of({"a", "s"})), ids(rev.of({"a", "s"})));
  EXPECT_EQ(ids(fwd.of({"a", "s"})), (std::vector<std::string>{"x1", "x3", "x5", "x7", "x9"}));
}

}  // namespace
}  // namespace portway::model
