#include "model/sandbox_ops.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "model/errors.h"

namespace portway::model {
namespace {

std::string not_found(std::string_view id) {
  return "no sandbox " + printable_quoted(id) + " is registered";
}

std::string text(const net::IpAddress& a) {
  return std::visit([](const auto& v) { return net::to_string(v); }, a);
}

// Whether a sandbox or Service record has `address`, in either family.
template <class Record>
bool has_address(const Record& r, const net::IpAddress& address) {
  return (r.ipv4 && net::IpAddress{*r.ipv4} == address) || (r.ipv6 && net::IpAddress{*r.ipv6} == address);
}

// Every reason the sandbox's addresses are taken, one line each.
std::vector<std::string> address_conflicts(store::Transaction& tx, const store::SandboxRecord& sandbox,
                                           const std::vector<net::InterfaceAddress>& node_addresses) {
  std::vector<std::pair<std::string, net::IpAddress>> mine;
  if (sandbox.ipv4) mine.emplace_back("--ip", *sandbox.ipv4);
  if (sandbox.ipv6) mine.emplace_back("--ip6", *sandbox.ipv6);
  std::vector<std::string> out;
  for (const auto& [flag, address] : mine) {
    const std::string head = flag + " " + text(address);
    for (const auto& other : tx.sandboxes()) {
      if (other.id == sandbox.id) continue;
      if (has_address(other, address))
        out.push_back(head + " is already the address of sandbox " + printable_quoted(other.id) +
                      " (remove that one first, or give this sandbox its own address)");
    }
    for (const auto& s : tx.services()) {
      if (has_address(s, address))
        out.push_back(head + " is the service address of " + s.id +
                      "; a sandbox needs an address of its own, outside the service ranges");
    }
    for (const auto& local : node_addresses) {
      if (local.address == address)
        out.push_back(head + " is an address of this node (" + local.iface +
                      "); a sandbox needs an address of its own");
    }
  }
  return out;
}

}  // namespace

std::string generate_sandbox_id() {
  unsigned char bytes[8];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("getrandom: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id = "sb-";
  for (unsigned char b : bytes) {
    id += kHex[b >> 4];
    id += kHex[b & 0xF];
  }
  return id;
}

store::SandboxRecord add_sandbox(store::Transaction& tx, store::SandboxRecord sandbox,
                                 const std::vector<net::InterfaceAddress>& node_addresses) {
  if (sandbox.id.empty()) {
    // 64 random bits: a clash is a once-in-the-universe event, but checking costs nothing.
    do {
      sandbox.id = generate_sandbox_id();
    } while (tx.find_sandbox(sandbox.id));
  } else if (tx.find_sandbox(sandbox.id)) {
    throw Conflict("sandbox " + printable_quoted(sandbox.id) + " is already registered (remove it first, or "
                   "change its state with `portway sandbox set`)");
  }
  if (auto conflicts = address_conflicts(tx, sandbox, node_addresses); !conflicts.empty())
    throw Conflict(std::move(conflicts));
  tx.put_sandbox(sandbox);
  return sandbox;
}

bool set_sandbox_state(store::Transaction& tx, std::string_view id, store::SandboxState state,
                       std::int64_t now_ms) {
  auto sandbox = tx.find_sandbox(id);
  if (!sandbox) throw NotFound(not_found(id));
  if (sandbox->state == state) return false;
  sandbox->state = state;
  sandbox->changed_at_ms = now_ms;
  tx.put_sandbox(*sandbox);
  return true;
}

void remove_sandbox(store::Transaction& tx, std::string_view id) {
  if (!tx.delete_sandbox(id)) throw NotFound(not_found(id));
}

}  // namespace portway::model
