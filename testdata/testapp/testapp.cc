// portway-testapp: the workload the lab and the conformance suite run in each sandbox.
// TCP echo and UDP echo on the given ports, an HTTP health endpoint on $PORT, and a "who"
// query on every protocol that reports which sandbox answered and what client address it saw
// (the conformance checks need both: per-port targets, source preservation, hairpin).
//
//   portway-testapp --id NAME [--bind ADDR] [--tcp PORT]... [--udp PORT]... [--http PORT]
//                   [--max-seconds N]
//
// "who": a TCP line or UDP datagram that is exactly "WHO" (optionally followed by \n), or
// HTTP GET /who. The answer is one line:
//   sandbox=NAME proto=tcp|udp|http port=LOCALPORT client=ADDR:PORT
// Anything else on TCP/UDP is echoed back unchanged; HTTP GET of any other path answers "ok".
// The process exits by itself after --max-seconds (default 600): a test that forgets it cannot
// leave it running for ever.
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

struct Options {
  std::string id = "sandbox";
  std::string bind = "::";  // both families (IPV6_V6ONLY off): the lab serves IPv4 and IPv6
  std::vector<int> tcp, udp;
  int http = 0;
  int max_seconds = 600;
};

enum class Kind { tcp_listener, udp, http_listener, tcp_conn, http_conn };

struct Socket {
  Kind kind;
  int local_port;
  sockaddr_storage peer{};
  std::string buffer;  // partial input of a TCP/HTTP connection
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "portway-testapp: %s: %s\n", what.c_str(), std::strerror(errno));
  std::exit(2);
}

int parse_port(const char* s) {
  char* end = nullptr;
  const long v = std::strtol(s, &end, 10);
  if (!end || *end || v < 1 || v > 65535) {
    std::fprintf(stderr, "portway-testapp: bad port %s\n", s);
    std::exit(2);
  }
  return static_cast<int>(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "portway-testapp: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--id") o.id = value();
    else if (a == "--bind") o.bind = value();
    else if (a == "--tcp") o.tcp.push_back(parse_port(value()));
    else if (a == "--udp") o.udp.push_back(parse_port(value()));
    else if (a == "--http") o.http = parse_port(value());
    else if (a == "--max-seconds") o.max_seconds = std::atoi(value());
    else {
      std::fprintf(stderr, "portway-testapp: unknown argument %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.http == 0) {
    if (const char* env = std::getenv("PORT")) o.http = parse_port(env);
  }
  return o;
}

// "198.18.0.2:40000" or "2001:2::2:40000" (the port after the last colon). An IPv4 client of
// a dual-stack socket arrives as ::ffff:a.b.c.d and is printed as plain IPv4, as before.
std::string addr_text(const sockaddr_storage& s) {
  char buf[INET6_ADDRSTRLEN];
  if (s.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(s);
    inet_ntop(AF_INET, &a.sin_addr, buf, sizeof buf);
    return std::string(buf) + ":" + std::to_string(ntohs(a.sin_port));
  }
  const auto& a = reinterpret_cast<const sockaddr_in6&>(s);
  if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], buf, sizeof buf);
  else inet_ntop(AF_INET6, &a.sin6_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(ntohs(a.sin6_port));
}

std::string who(const Options& o, const char* proto, int port, const sockaddr_storage& peer) {
  return "sandbox=" + o.id + " proto=" + proto + " port=" + std::to_string(port) +
         " client=" + addr_text(peer) + "\n";
}

int open_socket(const Options& o, int type, int port) {
  sockaddr_storage addr{};
  socklen_t addr_len = 0;
  if (o.bind.find(':') != std::string::npos) {
    auto& a6 = reinterpret_cast<sockaddr_in6&>(addr);
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET6, o.bind.c_str(), &a6.sin6_addr) != 1) die("bad --bind " + o.bind);
    addr_len = sizeof a6;
  } else {
    auto& a4 = reinterpret_cast<sockaddr_in&>(addr);
    a4.sin_family = AF_INET;
    a4.sin_port = htons(static_cast<uint16_t>(port));
    if (inet_pton(AF_INET, o.bind.c_str(), &a4.sin_addr) != 1) die("bad --bind " + o.bind);
    addr_len = sizeof a4;
  }
  int fd = socket(addr.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && errno == EAFNOSUPPORT && o.bind == "::") {
    // A kernel without IPv6: the default still serves IPv4.
    Options v4 = o;
    v4.bind = "0.0.0.0";
    return open_socket(v4, type, port);
  }
  if (fd < 0) die("socket");
  const int one = 1, zero = 0;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // "::" serves IPv4 too (as ::ffff:a.b.c.d), whatever the namespace's bindv6only default.
  if (addr.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), addr_len) != 0)
    die("bind port " + std::to_string(port));
  if (type == SOCK_STREAM && listen(fd, 512) != 0) die("listen");
  return fd;
}

void send_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;  // a test client that went away; nothing to report
    off += static_cast<std::size_t>(n);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  std::map<int, Socket> sockets;
  auto watch = [&](int fd, Socket s) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    sockets.emplace(fd, std::move(s));
  };
  for (int p : o.tcp) watch(open_socket(o, SOCK_STREAM, p), {Kind::tcp_listener, p, {}, {}});
  for (int p : o.udp) watch(open_socket(o, SOCK_DGRAM, p), {Kind::udp, p, {}, {}});
  if (o.http) watch(open_socket(o, SOCK_STREAM, o.http), {Kind::http_listener, o.http, {}, {}});
  std::fprintf(stderr, "portway-testapp %s: ready\n", o.id.c_str());

  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(o.max_seconds);
  std::vector<char> buf(65536);
  while (std::chrono::steady_clock::now() < deadline) {
    epoll_event events[64];
    const int n = epoll_wait(ep, events, 64, 200);
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      auto it = sockets.find(fd);
      if (it == sockets.end()) continue;
      Socket& s = it->second;
      if (s.kind == Kind::tcp_listener || s.kind == Kind::http_listener) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        const int c = accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) continue;
        Socket conn{s.kind == Kind::tcp_listener ? Kind::tcp_conn : Kind::http_conn, s.local_port, peer, {}};
        watch(c, std::move(conn));
        continue;
      }
      if (s.kind == Kind::udp) {
        sockaddr_storage peer{};
        socklen_t len = sizeof peer;
        const ssize_t got = recvfrom(fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&peer), &len);
        if (got < 0) continue;
        std::string msg(buf.data(), static_cast<std::size_t>(got));
        const std::string reply = (msg == "WHO" || msg == "WHO\n") ? who(o, "udp", s.local_port, peer) : msg;
        sendto(fd, reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&peer), len);
        continue;
      }
      const ssize_t got = recv(fd, buf.data(), buf.size(), 0);
      if (got <= 0) {
        close(fd);
        sockets.erase(it);
        continue;
      }
      if (s.kind == Kind::tcp_conn) {
        std::string data(buf.data(), static_cast<std::size_t>(got));
        if (data == "WHO\n" || data == "WHO") data = who(o, "tcp", s.local_port, s.peer);
        send_all(fd, data);
        continue;
      }
      // HTTP: answer once the request head is complete, then close. A bare "WHO" line is
      // answered too, so probes need not speak HTTP to learn who serves the health port.
      s.buffer.append(buf.data(), static_cast<std::size_t>(got));
      if (s.buffer == "WHO\n" || s.buffer == "WHO") {
        send_all(fd, who(o, "http", s.local_port, s.peer));
        close(fd);
        sockets.erase(it);
        continue;
      }
      if (s.buffer.find("\r\n\r\n") == std::string::npos && s.buffer.size() < 8192) continue;
      const bool is_who = s.buffer.rfind("GET /who ", 0) == 0;
      const std::string body = is_who ? who(o, "http", s.local_port, s.peer) : "ok\n";
      send_all(fd, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
      close(fd);
      sockets.erase(it);
    }
  }
  return 0;
}
