// Who is on the other end of a unix socket, as the kernel recorded it at connect() time
// (SO_PEERCRED, SO_PEERGROUPS): the API's access check (docs/api.md "Access").
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace portway::daemon {

struct PeerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups of the connecting process
};

// nullopt when the kernel cannot tell (not a unix socket).
std::optional<PeerCredentials> peer_credentials(int fd);

// Who may use the API: root, the daemon's own user, and members of `group` (its gid as the
// process's group or one of its supplementary groups). No group: root and the daemon only.
struct ApiAccess {
  uid_t daemon_uid = 0;
  std::optional<gid_t> group;
  bool allows(const PeerCredentials& peer) const;
};

// The gid of group `name`; throws std::runtime_error naming it when there is no such group.
gid_t group_id(const std::string& name);

}  // namespace portway::daemon
