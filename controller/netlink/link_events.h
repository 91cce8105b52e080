// Link events of the current network namespace (RTNLGRP_LINK): a non-blocking netlink socket
// whose fd goes into an event loop, and a drain() that tells which interfaces appeared,
// disappeared, were re-created under a new ifindex, or had their XDP program changed. The
// daemon uses it to repair at once when a sandbox interface or an uplink comes and goes
// (docs/daemon.md "How it is built").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

struct mnl_socket;
struct nlmsghdr;

namespace portway::netlink {

struct LinkChange {
  enum class Kind : std::uint8_t { appeared, gone, xdp_changed };
  Kind kind;
  std::string ifname;
  unsigned ifindex = 0;
};

std::string to_string(LinkChange::Kind k);

class LinkWatch {
 public:
  // Subscribes in the current network namespace and records the links there now (a dump),
  // so the first drain() reports only what changed since. Throws NetlinkError.
  LinkWatch();
  ~LinkWatch();
  LinkWatch(const LinkWatch&) = delete;
  LinkWatch& operator=(const LinkWatch&) = delete;

  int fd() const;

  // Reads every pending message. Attribute changes that are neither a new ifindex nor a new
  // XDP program (flags, statistics, addresses) are not reported. When the socket overflowed
  // (ENOBUFS: events were lost), it re-dumps and reports the difference.
  std::vector<LinkChange> drain();

 private:
  struct Known {
    unsigned ifindex = 0;
    std::uint32_t xdp_prog = 0;
  };
  void observe(const ::nlmsghdr* nlh, std::map<std::string, Known>& into,
               std::vector<LinkChange>* changes);
  std::vector<LinkChange> resync();

  mnl_socket* sock_;
  std::map<std::string, Known> links_;  // by name
};

}  // namespace portway::netlink
