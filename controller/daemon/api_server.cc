#include "daemon/api_server.h"

#include <unistd.h>

namespace portway::daemon {

ApiSettings ApiSettings::from(const config::NodeSettings& node) {
  return {node.api_socket, node.api_group, node, {}};
}

ApiServer::ApiServer(std::string state_path, ApiSettings settings, std::function<DaemonStatus()> status,
                     std::function<dataplane::Stats()> stats)
    : context_{std::move(state_path), settings.node, std::move(status), std::move(stats)},
      settings_(std::move(settings)),
      access_{::geteuid(), std::nullopt},
      socket_gid_(::getegid()) {
  if (!settings_.group.empty()) {
    access_.group = group_id(settings_.group);
    socket_gid_ = *access_.group;
  }
}

ApiServer::~ApiServer() { stop(); }

void ApiServer::start() {
  if (server_ || settings_.socket_path.empty()) return;
  server_ = std::make_unique<UnixHttpServer>(
      settings_.socket_path, socket_gid_, settings_.limits,
      [access = access_](const PeerCredentials& peer) { return access.allows(peer); },
      [this](const ApiRequest& request) { return handle_api_request(context_, request); });
}

void ApiServer::stop() {
  if (!server_) return;
  server_->stop();
  server_.reset();
}

}  // namespace portway::daemon
