#include "ops/sandbox_requests.h"

#include "model/errors.h"
#include "model/sandbox_ops.h"
#include "netlink/addressing.h"

namespace portway::ops {

std::vector<net::InterfaceAddress> node_addresses() { return netlink::list_addresses(); }

store::SandboxRecord add_sandbox(store::Store& store, store::SandboxRecord validated,
                                 const std::vector<net::InterfaceAddress>& node_addresses) {
  auto tx = store.begin_write();
  auto added = model::add_sandbox(*tx, std::move(validated), node_addresses);
  tx->commit();
  return added;
}

StateChange set_sandbox_state(store::Store& store, std::string_view id, store::SandboxState state,
                              std::int64_t now_ms) {
  auto tx = store.begin_write();
  const auto before = tx->find_sandbox(id);
  model::set_sandbox_state(*tx, id, state, now_ms);  // NotFound when `before` is absent
  tx->commit();
  return {before->state, state};
}

void remove_sandbox(store::Store& store, std::string_view id) {
  auto tx = store.begin_write();
  model::remove_sandbox(*tx, id);
  tx->commit();
}

}  // namespace portway::ops
