// An AF_PACKET socket that sends whole Ethernet frames out of one interface, straight to its
// driver (PACKET_QDISC_BYPASS): the packet-socket engine of `portway pktgen send`. It takes
// no frames in (bound to protocol 0).
#pragma once

#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "loader/unique_fd.h"

namespace portway::pktgen {

class PacketSocket {
 public:
  // On `ifindex` of the calling thread's network namespace (the socket stays in it); up to
  // `batch` frames per send(). Throws std::system_error.
  PacketSocket(unsigned ifindex, std::size_t batch);

  // Sends frames[i * frame_size .. ) for i < n (n <= batch) with one sendmmsg. Returns how many
  // the kernel took: fewer than n, 0 included, when the device refused one for now (a full
  // queue: ENOBUFS), which the caller may send again. Throws std::system_error on any other
  // error.
  std::size_t send(const std::uint8_t* frames, std::size_t frame_size, std::size_t n);

 private:
  loader::UniqueFd fd_;
  std::vector<mmsghdr> msgs_;
  std::vector<iovec> iovs_;
};

}  // namespace portway::pktgen
