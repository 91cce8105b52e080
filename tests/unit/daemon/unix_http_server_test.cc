// The API's HTTP server on a real unix socket, without root: the socket's mode, bodies over
// the limit refused before they are read, slow clients cut off without holding up others,
// peers the access check refuses, and what it does with a stale or foreign file at the path.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "daemon/unix_http_server.h"
#include "model_support/temp_dir.h"
#include "support/unix_http.h"

namespace portway::daemon {
namespace {

using namespace std::chrono_literals;
using portway::testing::http_request;
using portway::testing::unix_http;

class UnixHttp : public ::testing::Test {
 protected:
  std::unique_ptr<UnixHttpServer> serve(UnixHttpServer::Authorize authorize = [](const PeerCredentials&) { return true; },
                                        HttpLimits limits = {.request_timeout = 1000ms, .max_body = 1024 * 1024, .workers = 4}) {
    return std::make_unique<UnixHttpServer>(path_, ::getegid(), limits, std::move(authorize), [this](const ApiRequest& r) {
      ++handled_;
      last_body_size_ = r.body.size();
      return ApiResponse{200, {{"method", r.method}, {"path", r.path}, {"body", r.body}}, {}};
    });
  }

  portway::testing::TempDir dir_;
  std::string path_ = dir_.file("api.sock");
  std::atomic<int> handled_{0};
  std::atomic<std::size_t> last_body_size_{0};
};

TEST_F(UnixHttp, ServesJsonOnASocketOfMode0660) {
  auto server = serve();
  struct stat st{};
  ASSERT_EQ(::stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  const auto r = unix_http(path_, http_request("POST", "/v1/apps", "hello"));
  ASSERT_EQ(r.status, 200) << r.headers;
  EXPECT_NE(r.headers.find("Content-Type: application/json"), std::string::npos) << r.headers;
  EXPECT_EQ(nlohmann::json::parse(r.body), (nlohmann::json{{"method", "POST"}, {"path", "/v1/apps"}, {"body", "hello"}}));
  server->stop();
  EXPECT_FALSE(std::filesystem::exists(path_)) << "stop removes the socket";
}

TEST_F(UnixHttp, ABodyOverOneMibIs413WithoutBeingRead) {
  auto server = serve();
  // Declared too big, and not sent: the answer comes anyway, so it was not waited for.
  const auto declared = unix_http(path_, "POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 1048577\r\n\r\n", 3s);
  EXPECT_EQ(declared.status, 413);
  EXPECT_NE(declared.body.find("larger than 1 MiB"), std::string::npos) << declared.body;
  const auto huge = unix_http(path_, "POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999\r\n\r\n", 3s);
  EXPECT_EQ(huge.status, 413);
  // Chunked, with no length declared: cut off once past the limit.
  std::string chunked = "POST /v1/apps HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string chunk(64 * 1024, 'a');
  for (int i = 0; i < 20; ++i) chunked += "10000\r\n" + chunk + "\r\n";
  chunked += "0\r\n\r\n";
  EXPECT_EQ(unix_http(path_, chunked, 3s).status, 413);
  // Exactly the limit is fine.
  const auto at_limit = unix_http(path_, http_request("POST", "/v1/apps", std::string(1024 * 1024, 'b')));
  EXPECT_EQ(at_limit.status, 200);
  EXPECT_EQ(last_body_size_.load(), 1024u * 1024u);
  EXPECT_EQ(handled_.load(), 1) << "refused bodies never reach the handler";
}

TEST_F(UnixHttp, SlowClientsAreCutOffAndDoNotBlockOthers) {
  auto server = serve();
  // Three clients that never finish (fewer than the workers): one sends half a request
  // line, one headers without the end, one a body shorter than it declared.
  std::vector<int> slow;
  for (const char* partial : {"GET /v1/sta", "GET /v1/status HTTP/1.1\r\nHost: x\r\n",
                              "POST /v1/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"}) {
    const int fd = portway::testing::connect_unix(path_);
    ASSERT_GE(fd, 0);
    ASSERT_GT(::send(fd, partial, std::strlen(partial), MSG_NOSIGNAL), 0);
    slow.push_back(fd);
  }
  const auto start = std::chrono::steady_clock::now();
  const auto r = unix_http(path_, http_request("GET", "/v1/status"));
  EXPECT_EQ(r.status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 500ms) << "a full request is not held up by slow ones";
  for (int fd : slow) {
    const auto cut = portway::testing::read_reply(fd, 3s);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2500ms) << "cut off after the 1 s request timeout";
    if (cut.status != 0) {
      EXPECT_GE(cut.status, 400) << cut.headers;
    }
    ::close(fd);
  }
  EXPECT_EQ(handled_.load(), 1) << "no unfinished request reached the handler";
}

TEST_F(UnixHttp, APeerTheAccessCheckRefusesGets403) {
  std::atomic<uid_t> seen{12345};
  auto server = serve([&](const PeerCredentials& peer) {
    seen = peer.uid;
    return false;
  });
  const auto r = unix_http(path_, http_request("POST", "/v1/sandboxes", "{}"));
  EXPECT_EQ(r.status, 403);
  EXPECT_NE(r.body.find("api_group"), std::string::npos) << r.body;
  EXPECT_EQ(seen.load(), ::geteuid()) << "the check saw this process's credentials";
  EXPECT_EQ(handled_.load(), 0);
}

TEST_F(UnixHttp, AccessIsRootTheDaemonOrTheGroup) {
  const ApiAccess no_group{1000, std::nullopt};
  EXPECT_TRUE(no_group.allows({1, 0, 0, {}}));
  EXPECT_TRUE(no_group.allows({1, 1000, 1000, {}}));
  EXPECT_FALSE(no_group.allows({1, 1001, 1000, {1000}})) << "no group: nobody else";
  const ApiAccess group{1000, 4242};
  EXPECT_TRUE(group.allows({1, 1001, 4242, {}})) << "primary group";
  EXPECT_TRUE(group.allows({1, 1001, 100, {7, 4242}})) << "supplementary group";
  EXPECT_FALSE(group.allows({1, 1001, 100, {7, 8}}));
}

TEST_F(UnixHttp, AStaleSocketIsReplacedALiveOneAndOtherFilesAreNot) {
  {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path_.c_str(), sizeof a.sun_path - 1);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ::close(fd);  // bound, never listened: what a killed daemon leaves
  }
  auto server = serve();
  EXPECT_EQ(unix_http(path_, http_request("GET", "/v1/status")).status, 200);
  EXPECT_THROW(serve(), std::runtime_error) << "a socket someone answers on is not taken over";
  server.reset();
  std::ofstream(path_) << "not a socket";
  EXPECT_THROW(serve(), std::runtime_error);
  EXPECT_TRUE(std::filesystem::is_regular_file(path_)) << "left alone";
}

TEST(GroupId, AnUnknownGroupIsNamed) {
  try {
    group_id("portway-no-such-group-x");
    FAIL() << "no throw";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("portway-no-such-group-x"), std::string::npos);
  }
  EXPECT_EQ(group_id("root"), 0u);
}

}  // namespace
}  // namespace portway::daemon
