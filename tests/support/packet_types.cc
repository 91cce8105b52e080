#include "support/packet_types.h"

#include <arpa/inet.h>

#include <cstring>
#include <stdexcept>
#include <string>

namespace portway::test {

Ipv4Address ipv4(std::string_view dotted) {
  const std::string text{dotted};
  in_addr addr{};
  if (::inet_pton(AF_INET, text.c_str(), &addr) != 1) {
    throw std::invalid_argument("not an IPv4 address: '" + text + "'");
  }
  Ipv4Address out{};
  static_assert(sizeof(addr.s_addr) == out.size());
  // s_addr is already in network order; its bytes as they lie in memory are the wire bytes.
  std::memcpy(out.data(), &addr.s_addr, out.size());
  return out;
}

}  // namespace portway::test
