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

store::SandboxRecord add_sandbox(store::Transaction& tx, store::SandboxRecord sandbox) {
  if (sandbox.id.empty()) {
    // 64 random bits: a clash is a once-in-the-universe event, but checking costs nothing.
    do {
      sandbox.id = generate_sandbox_id();
    } while (tx.find_sandbox(sandbox.id));
  } else if (tx.find_sandbox(sandbox.id)) {
    throw Rejected("sandbox " + printable_quoted(sandbox.id) + " is already registered (remove it first, or "
                   "change its state with `portway sandbox set`)");
  }
  tx.put_sandbox(sandbox);
  return sandbox;
}

bool set_sandbox_state(store::Transaction& tx, std::string_view id, store::SandboxState state,
                       std::int64_t now_ms) {
  auto sandbox = tx.find_sandbox(id);
  if (!sandbox) throw Rejected(not_found(id));
  if (sandbox->state == state) return false;
  sandbox->state = state;
  sandbox->changed_at_ms = now_ms;
  tx.put_sandbox(*sandbox);
  return true;
}

void remove_sandbox(store::Transaction& tx, std::string_view id) {
  if (!tx.delete_sandbox(id)) throw Rejected(not_found(id));
}

}  // namespace portway::model
