// Named network namespaces, the iproute2 way (/run/netns/NAME bind mounts), so that the lab's
// namespaces are visible to `ip netns` and survive the process that made them; and a guard
// that runs the current thread inside one for a scope.
#pragma once

#include <string>
#include <vector>

namespace portway::netlink {

inline constexpr const char* kNetnsDir = "/run/netns";

// Creates /run/netns/NAME holding a new, empty network namespace (loopback down). Throws
// std::system_error; EEXIST when the name is taken.
void create_named_netns(const std::string& name);

// Unmounts and removes /run/netns/NAME. The namespace itself goes away once no process and no
// fd refers to it. Returns false when it did not exist.
bool delete_named_netns(const std::string& name);

bool named_netns_exists(const std::string& name);
std::vector<std::string> list_named_netns();

// An fd of /run/netns/NAME (O_RDONLY|O_CLOEXEC); throws std::system_error.
int open_named_netns(const std::string& name);

// Moves the calling thread into a namespace (by fd or name) and back on destruction.
class NetnsGuard {
 public:
  explicit NetnsGuard(const std::string& name);
  ~NetnsGuard();
  NetnsGuard(const NetnsGuard&) = delete;
  NetnsGuard& operator=(const NetnsGuard&) = delete;

 private:
  int previous_;
};

}  // namespace portway::netlink
