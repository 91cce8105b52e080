#include "nft_lab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

#include "netlink/links.h"
#include "netlink/netns.h"
#include "support/root.h"

namespace portway::dataplane::nft::testing {
namespace {

using lab::ProbeResult;
using lab::ProbeStatus;

ProbeResult failed(int err) {
  ProbeResult r;
  r.error = std::strerror(err);
  r.status = err == ECONNREFUSED || err == ECONNRESET || err == EPIPE ? ProbeStatus::refused
             : err == ETIMEDOUT                                       ? ProbeStatus::timeout
                                                                      : ProbeStatus::other_error;
  return r;
}

}  // namespace

TcpConnection::TcpConnection(const std::string& netns, const std::string& addr, std::uint16_t port) {
  netlink::NetnsGuard in(netns);  // the socket stays in this namespace afterwards
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0) {
    fd_ = fd;
  } else {
    close(fd);
  }
}

TcpConnection::~TcpConnection() {
  if (fd_ >= 0) close(fd_);
}

ProbeResult TcpConnection::exchange(const std::string& line, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return failed(ENOTCONN);
  if (send(fd_, line.data(), line.size(), MSG_NOSIGNAL) < 0) return failed(errno);
  std::string got;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (got.find('\n') == std::string::npos) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return failed(ETIMEDOUT);
    pollfd p{fd_, POLLIN, 0};
    const int n = poll(&p, 1, static_cast<int>(left.count()));
    if (n == 0) return failed(ETIMEDOUT);
    char buf[512];
    const ssize_t r = recv(fd_, buf, sizeof buf, 0);
    if (r < 0) return failed(errno);
    if (r == 0) return failed(ECONNRESET);  // closed: treat like a reset for these tests
    got.append(buf, static_cast<std::size_t>(r));
  }
  ProbeResult ok;
  ok.status = ProbeStatus::ok;
  ok.reply = got;
  return ok;
}

void NftLabTest::SetUp() {
  PORTWAY_REQUIRE_ROOT();
  plan_ = {"pwnft" + std::to_string(getpid() % 100000), 3};
  lab::destroy_topology(plan_);  // leftovers of a crashed run with the same pid
  topo_ = lab::build_topology(plan_);
  built_ = true;
  for (std::size_t i = 0; i < topo_.sandboxes.size(); ++i) {
    // 30080 on the sandbox itself: a node-port number sent to a non-local address must reach
    // this listener untouched.
    apps_.push_back(lab::NsProcess::spawn(topo_.sandboxes[i].netns,
                                          {PORTWAY_TESTAPP, "--id", "sb" + std::to_string(i), "--tcp", "7000",
                                           "--tcp", "7100", "--tcp", "30080", "--udp", "7001", "--max-seconds",
                                           "180"}));
  }
  for (const auto& sb : topo_.sandboxes) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (lab::tcp_probe(topo_.client_netns, net::to_string(sb.address), 7000, "WHO\n",
                           std::chrono::milliseconds(200))
               .status != ProbeStatus::ok) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "test app did not start";
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  netlink::NetnsGuard in(topo_.node_netns);
  // Host-originated connections need a route to the service range before DNAT applies.
  netlink::add_route(lab::kLabServiceCidr, std::nullopt, topo_.uplink);
  dp_ = std::make_unique<NftDataplane>();
}

void NftLabTest::TearDown() {
  if (!built_) return;
  dp_.reset();  // its flow worker first: it holds sockets in the node namespace
  apps_.clear();
  lab::destroy_topology(plan_);
  for (const auto& name : netlink::list_named_netns())
    EXPECT_NE(name.rfind(plan_.prefix + "-", 0), 0u) << "left behind: " << name;
}

std::string NftLabTest::sandbox(std::size_t i) const { return net::to_string(topo_.sandboxes.at(i).address); }

state::Member NftLabTest::member(std::size_t i, state::MemberState s) const {
  return {topo_.sandboxes.at(i).address, std::nullopt, s};
}

std::vector<state::Member> NftLabTest::all_members() const {
  std::vector<state::Member> m;
  for (std::size_t i = 0; i < topo_.sandboxes.size(); ++i) m.push_back(member(i));
  return m;
}

state::DataplaneState NftLabTest::lab_state(const std::vector<state::Member>& members) const {
  const auto vip = *net::parse_ipv4(kVip);
  const auto empty = *net::parse_ipv4(kEmptyVip);
  using config::Protocol;
  return state::DataplaneState::from_parts(
      {{{vip, 80, Protocol::tcp}, 7000, "svc/lab/web", "http"},
       {{vip, 81, Protocol::tcp}, 7100, "svc/lab/web", "admin"},
       {{vip, 53, Protocol::udp}, 7001, "svc/lab/web", "dns"},
       {{empty, 80, Protocol::tcp}, 7000, "svc/lab/empty", "http"}},
      {{{kNodePort, Protocol::tcp}, 7000, "svc/lab/web", "http"}},
      {{"svc/lab/web", members}, {"svc/lab/empty", {}}});
}

void NftLabTest::in_node(const std::function<void()>& f) const {
  netlink::NetnsGuard in(topo_.node_netns);
  f();
}

std::string NftLabTest::nft_cli(const std::string& args) const {
  // One argument for nft (it joins its argv anyway), quoted for the shell: braces and
  // semicolons are nft syntax here.
  const std::string cmd = "ip netns exec " + topo_.node_netns + " nft '" + args + "' 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    ADD_FAILURE() << "popen " << cmd;
    return "";
  }
  std::string out;
  char buf[4096];
  while (const std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = pclose(p);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << cmd << ": " << out;
  return out;
}

std::string NftLabTest::who_sandbox(const lab::ProbeResult& r) {
  lab::WhoAnswer who;
  return r.status == ProbeStatus::ok && lab::parse_who(r.reply, who) ? who.sandbox : "";
}

}  // namespace portway::dataplane::nft::testing
