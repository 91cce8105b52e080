// A raw HTTP/1.1 exchange over a unix socket (or TCP on loopback), byte for byte what the
// test writes: for requests a library client would refuse to send (huge or never-finished
// bodies, broken JSON) and to see exactly what the server answers.
#pragma once

#include <chrono>
#include <string>

namespace portway::testing {

struct HttpReply {
  int status = 0;  // 0: no answer (the server closed the connection without one)
  std::string headers;
  std::string body;
};

// Sends `request` whole, then reads until the server closes (bounded by `timeout`).
HttpReply unix_http(const std::string& socket_path, const std::string& request,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));
HttpReply tcp_http(const std::string& host, int port, const std::string& request,
                   std::chrono::milliseconds timeout = std::chrono::seconds(10));

// "METHOD PATH HTTP/1.1" with Host, Content-Length (when there is a body) and Connection: close.
std::string http_request(const std::string& method, const std::string& path, const std::string& body = "");

// Connects to a unix socket and returns the fd (the caller closes it), -1 on failure.
int connect_unix(const std::string& socket_path);

// Reads what the server sends on `fd` until it closes or `timeout` passes.
HttpReply read_reply(int fd, std::chrono::milliseconds timeout);

}  // namespace portway::testing
