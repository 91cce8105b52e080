#include "support/tun_device.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace portway::test {
namespace {

[[noreturn]] void fail(const std::string& what) {
  throw std::system_error(errno, std::generic_category(), what);
}

void copy_name(ifreq& ifr, const std::string& name) {
  if (name.size() >= sizeof(ifr.ifr_name)) {
    errno = ENAMETOOLONG;
    fail("interface name '" + name + "'");
  }
  std::memcpy(ifr.ifr_name, name.c_str(), name.size() + 1);
}

}  // namespace

TunDevice::TunDevice(const std::string& name_pattern)
    : fd_(::open("/dev/net/tun", O_RDWR | O_CLOEXEC)) {
  if (!fd_) {
    fail("open /dev/net/tun");
  }
  ifreq ifr{};
  copy_name(ifr, name_pattern);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  if (::ioctl(fd_.get(), TUNSETIFF, &ifr) != 0) {
    fail("TUNSETIFF " + name_pattern);
  }
  name_ = ifr.ifr_name;

  // Link-level ioctls go through any socket of the netns; the device must be up or the
  // kernel refuses writes with EIO.
  const loader::UniqueFd sock{::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (!sock) {
    fail("socket for interface ioctls");
  }
  ifreq up{};
  copy_name(up, name_);
  if (::ioctl(sock.get(), SIOCGIFFLAGS, &up) != 0) {
    fail("SIOCGIFFLAGS " + name_);
  }
  up.ifr_flags = static_cast<short>(up.ifr_flags | IFF_UP);
  if (::ioctl(sock.get(), SIOCSIFFLAGS, &up) != 0) {
    fail("SIOCSIFFLAGS up " + name_);
  }
  ifreq index{};
  copy_name(index, name_);
  if (::ioctl(sock.get(), SIOCGIFINDEX, &index) != 0) {
    fail("SIOCGIFINDEX " + name_);
  }
  ifindex_ = index.ifr_ifindex;
}

void TunDevice::inject(std::span<const std::uint8_t> packet) const {
  const ssize_t n = ::write(fd_.get(), packet.data(), packet.size());
  if (n < 0) {
    fail("write to " + name_);
  }
  if (static_cast<std::size_t>(n) != packet.size()) {
    errno = EIO;
    fail("short write to " + name_);
  }
}

}  // namespace portway::test
