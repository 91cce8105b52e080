// A TCP connection from a lab namespace that stays open across dataplane changes (draining,
// backend removal), for the integration tests of both dataplanes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "lab/probe_client.h"

namespace portway::itest {

class TcpConnection {
 public:
  TcpConnection(const std::string& netns, const std::string& addr, std::uint16_t port);
  ~TcpConnection();
  TcpConnection(const TcpConnection&) = delete;
  TcpConnection& operator=(const TcpConnection&) = delete;

  bool connected() const { return fd_ >= 0; }
  // Sends `line` and reads one line back. A reset or a close reads as `refused`.
  lab::ProbeResult exchange(const std::string& line,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(1500));

 private:
  int fd_ = -1;
};

}  // namespace portway::itest
