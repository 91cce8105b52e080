// The daemon's local API (docs/api.md): the routes listed there over HTTP/1.1 + JSON on the node
// file's api_socket, for root, the daemon's user and members of api_group. The daemon's loop
// owns one while it runs; writes only commit to the store, which the loop watches.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "config/node_settings.h"
#include "daemon/daemon_status.h"
#include "daemon/unix_http_server.h"
#include "dataplane/dataplane.h"

namespace portway::daemon {

struct ApiSettings {
  std::string socket_path;  // the node file's api_socket
  std::string group;        // the node file's api_group ("" = root and the daemon's user only)
  config::NodeSettings node;  // apply's pools, reserved ports and service ranges; status
  HttpLimits limits;

  static ApiSettings from(const config::NodeSettings& node);
};

class ApiServer {
 public:
  // Resolves the group (std::runtime_error naming it when unknown). Serves nothing yet.
  // `status` and `stats` are called from the API's worker threads, several at once.
  ApiServer(std::string state_path, ApiSettings settings, std::function<DaemonStatus()> status,
            std::function<dataplane::Stats()> stats);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Binds the socket and serves (unix_http_server.h says what is refused). No-op when the
  // settings have no socket path or it already serves.
  void start();
  // Stops serving and removes the socket. Idempotent; the destructor calls it.
  void stop();

 private:
  ApiContext context_;
  ApiSettings settings_;
  ApiAccess access_;
  gid_t socket_gid_;
  std::unique_ptr<UnixHttpServer> server_;
};

}  // namespace portway::daemon
