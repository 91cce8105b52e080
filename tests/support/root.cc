#include "support/root.h"

#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace portway::test {

std::optional<std::string> root_missing_reason() {
  if (::geteuid() != 0) {
    return std::string{"needs root (CAP_BPF/CAP_NET_ADMIN)"};
  }
  return std::nullopt;
}

bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string_view{ci} == "true";
}

}  // namespace portway::test
