// Metrics and health over TCP on the node file's metrics_address (docs/operations.md
// "Metrics"): GET /metrics (Prometheus text 0.0.4), GET /healthz (the process answers),
// GET /readyz (200 when DaemonStatus.ready, else 503 with the reason).
#pragma once

#include <functional>
#include <memory>
#include <thread>

#include "config/node_settings.h"
#include "daemon/daemon_status.h"
#include "dataplane/dataplane.h"

namespace httplib {
class Server;
}

namespace portway::daemon {

class MetricsServer {
 public:
  MetricsServer(config::ListenAddress address, std::function<DaemonStatus()> status,
                std::function<dataplane::Stats()> stats);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // Binds and serves on a thread of its own; std::runtime_error naming the address when it
  // cannot bind. No-op when already serving.
  void start();
  void stop();  // idempotent; the destructor calls it

  // The port bound (the given one, or the kernel's pick for port 0 in tests).
  int port() const { return port_; }

  // What GET /metrics answers, without a socket.
  std::string render() const;

 private:
  config::ListenAddress address_;
  std::function<DaemonStatus()> status_;
  std::function<dataplane::Stats()> stats_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace portway::daemon
