#include "daemon/unix_http_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "ops/service_view.h"

namespace portway::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// A connection with one deadline for its whole request. httplib's own socket stream times out
// each read separately, so a client sending one byte every few seconds would hold a worker
// forever; this one answers "nothing more to read" once the deadline has passed. Reads are
// buffered because httplib reads request lines a byte at a time.
class DeadlineStream : public httplib::Stream {
 public:
  DeadlineStream(int fd, Clock::time_point deadline, pid_t peer_pid)
      : fd_(fd), deadline_(deadline), peer_pid_(peer_pid) {}

  bool is_readable() const override { return pos_ < len_ || wait(POLLIN); }
  bool is_writable() const override { return wait(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    if (pos_ == len_) {
      if (!wait(POLLIN)) return -1;
      const ssize_t n = ::recv(fd_, buf_, sizeof buf_, 0);
      if (n <= 0) return n;
      pos_ = 0;
      len_ = static_cast<std::size_t>(n);
    }
    const std::size_t take = std::min(size, len_ - pos_);
    std::memcpy(ptr, buf_ + pos_, take);
    pos_ += take;
    return static_cast<ssize_t>(take);
  }

  ssize_t write(const char* ptr, size_t size) override {
    std::size_t done = 0;
    while (done < size) {
      if (!wait(POLLOUT)) return -1;
      const ssize_t n = ::send(fd_, ptr + done, size - done, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1;
      done += static_cast<std::size_t>(n);
    }
    return static_cast<ssize_t>(size);
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "unix";
    port = peer_pid_;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "unix";
    port = 0;
  }
  int socket() const override { return fd_; }

 private:
  bool wait(short events) const {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now()).count();
      if (left <= 0) return false;
      pollfd p{fd_, events, 0};
      const int rc = ::poll(&p, 1, static_cast<int>(left));
      if (rc < 0 && errno == EINTR) continue;
      return rc > 0 && (p.revents & (events | POLLHUP)) != 0;
    }
  }

  int fd_;
  Clock::time_point deadline_;
  pid_t peer_pid_;
  char buf_[4096];
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
};

// The credentials of the connection the calling worker serves: set for the span of one
// request by process_and_close_socket, read by the pre-routing check on the same thread.
thread_local const PeerCredentials* current_peer = nullptr;

void write_json(httplib::Response& res, const ApiResponse& a) {
  res.status = a.status;
  if (!a.allow.empty()) res.set_header("Allow", a.allow);
  res.set_content(ops::dump(a.body) + "\n", "application/json");
}

}  // namespace

class UnixHttpServer::Server : public httplib::Server {
 public:
  Server(HttpLimits limits, Authorize authorize, Handle handle)
      : limits_(limits), authorize_(std::move(authorize)), handle_(std::move(handle)) {
    new_task_queue = [n = limits_.workers] { return new httplib::ThreadPool(n); };
    set_payload_max_length(limits_.max_body);
    set_keep_alive_max_count(1);
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) { return screen(req, res); });
    // A client that sends "Expect: 100-continue" learns of a 413 (or a 403) before it sends
    // the body.
    set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      return screen(req, res) == HandlerResponse::Handled ? res.status : 100;
    });
    const auto with_body = [this](const httplib::Request& req, httplib::Response& res,
                                  const httplib::ContentReader& reader) {
      std::string body;
      bool too_big = false;
      const bool complete = reader([&](const char* data, size_t n) {
        if (body.size() + n > limits_.max_body) {
          too_big = true;
          return false;
        }
        body.append(data, n);
        return true;
      });
      if (too_big) return write_json(res, too_large());
      if (!complete) return write_json(res, error_response(400, {"the request body could not be read in time"}));
      serve(req, std::move(body), res);
    };
    const auto without_body = [this](const httplib::Request& req, httplib::Response& res) { serve(req, "", res); };
    Get(".*", without_body);
    Post(".*", with_body);
    Patch(".*", with_body);
    Delete(".*", with_body);
    Put(".*", with_body);
    Options(".*", without_body);
  }

 private:
  static ApiResponse too_large() { return error_response(413, {"the request body is larger than 1 MiB"}); }

  // Before any body is read: the peer's right to ask, then the declared body size.
  HandlerResponse screen(const httplib::Request& req, httplib::Response& res) {
    if (!current_peer || !authorize_(*current_peer)) {
      write_json(res, error_response(403, {"not allowed: the API serves root, the daemon's user and members of "
                                           "the node file's api_group"}));
      return HandlerResponse::Handled;
    }
    if (req.has_header("Content-Length")) {
      const std::string& text = req.get_header_value("Content-Length");
      errno = 0;
      char* end = nullptr;
      const unsigned long long declared = std::strtoull(text.c_str(), &end, 10);
      if (text.empty() || *end != '\0' || errno == ERANGE) {
        write_json(res, error_response(400, {"Content-Length is not a number"}));
        return HandlerResponse::Handled;
      }
      if (declared > limits_.max_body) {
        write_json(res, too_large());
        return HandlerResponse::Handled;
      }
    }
    return HandlerResponse::Unhandled;
  }

  void serve(const httplib::Request& req, std::string body, httplib::Response& res) {
    write_json(res, handle_({req.method, req.path, std::move(body)}));
  }

  // Replaces httplib's connection loop: one request per connection (no keep-alive, so a
  // refused body never has to be skipped), read under one deadline, with the peer's
  // credentials known to the checks above.
  bool process_and_close_socket(int sock) override {
    const auto peer = peer_credentials(sock);
    current_peer = peer ? &*peer : nullptr;
    DeadlineStream stream(sock, Clock::now() + limits_.request_timeout, peer ? peer->pid : 0);
    bool closed = false;
    const bool ok = process_request(stream, /*close_connection=*/true, closed, nullptr);
    current_peer = nullptr;
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
    return ok;
  }

  HttpLimits limits_;
  Authorize authorize_;
  Handle handle_;
};

namespace {

// What is at `path` before binding: nothing, or a socket nobody answers on (a daemon that
// died), which is removed. A socket someone answers on, or any other file, is refused.
void clear_stale_socket(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return;
    throw std::system_error(errno, std::generic_category(), "api_socket " + path);
  }
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error("api_socket " + path + " exists and is not a socket; refusing to replace it");
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  const bool live = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  if (live) throw std::runtime_error("api_socket " + path + " is in use by another process (is a daemon running?)");
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    throw std::system_error(errno, std::generic_category(), "removing the stale api_socket " + path);
}

}  // namespace

UnixHttpServer::UnixHttpServer(std::string path, gid_t gid, HttpLimits limits, Authorize authorize, Handle handle)
    : path_(std::move(path)), server_(std::make_unique<Server>(limits, std::move(authorize), std::move(handle))) {
  if (path_.empty() || path_.size() >= sizeof(sockaddr_un::sun_path))
    throw std::runtime_error("api_socket \"" + path_ + "\" is not a usable unix socket path");
  const auto dir = std::filesystem::path(path_).parent_path();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "creating the api_socket's directory " + dir.string());
  clear_stale_socket(path_);
  server_->set_address_family(AF_UNIX);
  // httplib takes the socket path as the host of a unix-socket server; the port is unused.
  if (!server_->bind_to_port(path_, 1)) throw std::system_error(errno, std::generic_category(), "binding api_socket " + path_);
  // Mode and owner are set after bind: a process that connects in between is still checked
  // by its credentials (Server::screen), so the socket's mode is a second gate, not the only.
  if (::chmod(path_.c_str(), 0660) != 0 || ::chown(path_.c_str(), ::geteuid(), gid) != 0) {
    const int err = errno;
    ::unlink(path_.c_str());
    throw std::system_error(err, std::generic_category(), "setting the mode and group of api_socket " + path_);
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() only closes the listening socket of a server that is running; wait until it is.
  for (int i = 0; i < 2000 && !server_->is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

UnixHttpServer::~UnixHttpServer() { stop(); }

void UnixHttpServer::stop() {
  if (!thread_.joinable()) return;
  server_->stop();
  thread_.join();
  ::unlink(path_.c_str());
}

}  // namespace portway::daemon
