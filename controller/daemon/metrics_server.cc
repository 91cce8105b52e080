#include "daemon/metrics_server.h"

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "daemon/prometheus_text.h"

namespace portway::daemon {

MetricsServer::MetricsServer(config::ListenAddress address, std::function<DaemonStatus()> status,
                             std::function<dataplane::Stats()> stats)
    : address_(std::move(address)), status_(std::move(status)), stats_(std::move(stats)) {}

MetricsServer::~MetricsServer() { stop(); }

std::string MetricsServer::render() const {
  const DaemonStatus status = status_();
  MetricsInput in{.stats = nullptr, .dataplane = status.dataplane, .reason = status.reason, .daemon = &status};
  dataplane::Stats stats;
  if (!status.dataplane.empty()) {
    try {
      stats = stats_();
      in.stats = &stats;
    } catch (const std::exception& e) {
      // The daemon's own families still go out; the counters come back on the next scrape.
      spdlog::warn("metrics: reading the dataplane's counters: {}", e.what());
    }
  }
  return render_prometheus(in);
}

void MetricsServer::start() {
  if (server_) return;
  auto server = std::make_unique<httplib::Server>();
  server->set_read_timeout(5, 0);
  server->set_write_timeout(5, 0);
  server->set_payload_max_length(4096);
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), std::string(kPrometheusContentType).c_str());
  });
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  server->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    const DaemonStatus s = status_();
    if (s.ready) return res.set_content("ready\n", "text/plain");
    res.status = 503;
    std::string why = !s.store_error.empty()     ? "store: " + s.store_error
                      : !s.program_error.empty() ? "programming: " + s.program_error
                                                 : "programmed generation " + std::to_string(s.programmed_generation) +
                                                       " is behind the store's " + std::to_string(s.store_generation);
    res.set_content("not ready: " + why + "\n", "text/plain");
  });
  if (address_.port == 0) {
    port_ = server->bind_to_any_port(address_.host);
    if (port_ < 0) throw std::runtime_error("metrics_address " + config::to_string(address_) + ": cannot bind");
  } else {
    if (!server->bind_to_port(address_.host, address_.port))
      throw std::runtime_error("metrics_address " + config::to_string(address_) + ": cannot bind (in use?)");
    port_ = address_.port;
  }
  server_ = std::move(server);
  thread_ = std::thread([s = server_.get()] { s->listen_after_bind(); });
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void MetricsServer::stop() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

}  // namespace portway::daemon
