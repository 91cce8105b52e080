#include "pktgen/packet_socket.h"

#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <sys/time.h>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

namespace portway::pktgen {

PacketSocket::PacketSocket(unsigned ifindex, std::size_t batch)
    : fd_(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0)), msgs_(batch), iovs_(batch) {
  if (!fd_) throw std::system_error(errno, std::generic_category(), "open a packet socket");
  if (batch == 0) throw std::invalid_argument("a packet socket batch needs at least one frame");
  // Protocol 0: the socket is on no receive list, so the frames it sends (and any other) are
  // never queued back to it. The kernel reads each frame's protocol from its Ethernet header.
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = 0;
  addr.sll_ifindex = static_cast<int>(ifindex);
  if (::bind(fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
    throw std::system_error(errno, std::generic_category(),
                            "bind a packet socket to ifindex " + std::to_string(ifindex));
  // Straight to the driver's xmit: no qdisc (a veth has none by default anyway), and a full
  // device queue answers ENOBUFS instead of holding the frame.
  const int on = 1;
  if (::setsockopt(fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &on, sizeof on) != 0)
    throw std::system_error(errno, std::generic_category(), "set PACKET_QDISC_BYPASS");
  // A send that waits for room in the socket's buffer (frames the peer has not taken yet)
  // gives up after this and answers EAGAIN: the caller's deadline stays in force.
  const timeval wait{0, 100000};
  if (::setsockopt(fd_.get(), SOL_SOCKET, SO_SNDTIMEO, &wait, sizeof wait) != 0)
    throw std::system_error(errno, std::generic_category(), "set SO_SNDTIMEO");
  for (std::size_t i = 0; i < batch; ++i) {
    msgs_[i] = {};
    msgs_[i].msg_hdr.msg_iov = &iovs_[i];
    msgs_[i].msg_hdr.msg_iovlen = 1;
  }
}

std::size_t PacketSocket::send(const std::uint8_t* frames, std::size_t frame_size, std::size_t n) {
  if (n > msgs_.size()) throw std::invalid_argument("more frames than the socket's batch");
  if (n == 0) return 0;
  for (std::size_t i = 0; i < n; ++i) {
    iovs_[i].iov_base = const_cast<std::uint8_t*>(frames + i * frame_size);
    iovs_[i].iov_len = frame_size;
  }
  const int sent = ::sendmmsg(fd_.get(), msgs_.data(), static_cast<unsigned>(n), 0);
  if (sent >= 0) return static_cast<std::size_t>(sent);
  if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) return 0;
  throw std::system_error(errno, std::generic_category(), "send frames on a packet socket");
}

}  // namespace portway::pktgen
