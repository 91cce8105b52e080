// HTTP/1.1 on a unix socket with Debian's cpp-httplib (docs/api.md "Server"): one request per
// connection, each connection's peer credentials checked before its request is routed, a
// deadline for the whole request (a client that never finishes is cut off and holds a
// worker for at most that long), and bodies over the limit refused with 413 before they
// are read.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "daemon/api_routes.h"
#include "daemon/peer_credentials.h"

namespace portway::daemon {

struct HttpLimits {
  std::chrono::milliseconds request_timeout{5000};  // first byte to last byte of a request
  std::size_t max_body = 1024 * 1024;
  std::size_t workers = 8;  // connections served at once; more wait for a worker
};

class UnixHttpServer {
 public:
  using Authorize = std::function<bool(const PeerCredentials&)>;
  using Handle = std::function<ApiResponse(const ApiRequest&)>;

  // Binds `path` (a stale socket there is removed; a live one, or anything else there, is
  // refused with std::runtime_error), makes it mode 0660 owned by (geteuid(), `gid`), and
  // serves on a thread of its own until stop() or destruction.
  UnixHttpServer(std::string path, gid_t gid, HttpLimits limits, Authorize authorize, Handle handle);
  ~UnixHttpServer();
  UnixHttpServer(const UnixHttpServer&) = delete;
  UnixHttpServer& operator=(const UnixHttpServer&) = delete;

  // Stops accepting, waits for the requests under way (each at most request_timeout) and
  // removes the socket file. Idempotent.
  void stop();

  class Server;  // httplib::Server with the checks above (unix_http_server.cc)

 private:
  std::string path_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

}  // namespace portway::daemon
