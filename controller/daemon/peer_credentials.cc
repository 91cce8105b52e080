#include "daemon/peer_credentials.h"

#include <grp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace portway::daemon {

std::optional<PeerCredentials> peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) return std::nullopt;
  PeerCredentials out{cred.pid, cred.uid, cred.gid, {}};
  // SO_PEERGROUPS (Linux 4.13) answers ERANGE with the size it needs.
  std::vector<gid_t> groups(32);
  for (int attempt = 0; attempt < 4; ++attempt) {
    socklen_t bytes = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &bytes) == 0) {
      groups.resize(bytes / sizeof(gid_t));
      out.groups = std::move(groups);
      return out;
    }
    if (errno != ERANGE) return std::nullopt;
    groups.resize(bytes / sizeof(gid_t) + 1);
  }
  return std::nullopt;
}

bool ApiAccess::allows(const PeerCredentials& peer) const {
  if (peer.uid == 0 || peer.uid == daemon_uid) return true;
  if (!group) return false;
  return peer.gid == *group || std::find(peer.groups.begin(), peer.groups.end(), *group) != peer.groups.end();
}

gid_t group_id(const std::string& name) {
  group entry{};
  group* found = nullptr;
  std::vector<char> buf(16384);
  const int rc = getgrnam_r(name.c_str(), &entry, buf.data(), buf.size(), &found);
  if (rc != 0) throw std::runtime_error("looking up group \"" + name + "\": " + std::strerror(rc));
  if (!found) throw std::runtime_error("api_group \"" + name + "\" is not a group on this node (create it, or set api_group = \"\" for root only)");
  return found->gr_gid;
}

}  // namespace portway::daemon
