// The store interface (docs/model.md "The store"): everything the controller persists, behind one
// abstract class so a cluster backend can replace the embedded SQLite file, and so tests can
// wrap a real store to inject failures at a precise call.
//
// All access goes through a Transaction. A write transaction is exclusive (one writer per
// store, across processes) and atomic: it commits everything on commit() or nothing if it is
// destroyed first, also when the process dies. A read transaction sees one consistent state.
// Every method is atomic on its own: if it throws, the transaction is exactly as before the
// call and can still be committed (the reconcile pass's "skip cleanup", docs/model.md "One
// reconcile pass", relies on that).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "errors/error.h"
#include "net/ip_prefix.h"
#include "store/records.h"

namespace portway::store {

// The store could not do what was asked (I/O, corruption, a constraint the caller broke).
class StoreError : public Error {
 public:
  explicit StoreError(const std::string& message) : Error(kExitEnvironment, message) {}
};

// There is no store where one was asked for: absent, or never initialised (nothing was ever
// written to it). Only an open that may create the store creates one; every other caller
// decides what "no store" means for it (a listing shows nothing; a sync refuses, since an
// empty desired state would remove every frontend from the node).
class StoreMissingError : public StoreError {
 public:
  using StoreError::StoreError;
};

// Another writer held the store for longer than the busy timeout.
class StoreBusyError : public StoreError {
 public:
  using StoreError::StoreError;
};

class Transaction {
 public:
  virtual ~Transaction() = default;  // rolls back unless commit() succeeded

  virtual bool writable() const = 0;

  // Apps. delete_app also deletes the app's Services (releasing their addresses) and its
  // node-port claims; sandboxes belong to the runtime and stay.
  virtual std::optional<AppRecord> find_app(std::string_view name) = 0;
  virtual std::vector<AppRecord> apps() = 0;  // ordered by name
  virtual void put_app(const AppRecord& app) = 0;  // insert or update in place
  virtual bool delete_app(std::string_view name) = 0;

  // Services, with their ports and address allocations. put_service creates or replaces
  // one; its app must exist, and its addresses must not belong to another Service.
  virtual std::optional<ServiceRecord> find_service(std::string_view id) = 0;
  virtual std::vector<ServiceRecord> services() = 0;  // ordered by id
  virtual std::vector<ServiceRecord> services_of_app(std::string_view app) = 0;  // by id
  virtual void put_service(const ServiceRecord& service) = 0;
  virtual bool delete_service(std::string_view id) = 0;

  // Allocated addresses in [first, last], ascending, at most `limit`: the probe primitive of
  // the IP allocator (a range scan, so probing a nearly full pool stays cheap).
  virtual std::vector<net::Ipv4> allocated_ipv4(net::Ipv4 first, net::Ipv4 last,
                                                std::size_t limit) = 0;
  virtual std::vector<net::Ipv6> allocated_ipv6(const net::Ipv6& first, const net::Ipv6& last,
                                                std::size_t limit) = 0;

  // Node-port claims: (node_port, protocol) is unique across the whole store.
  virtual std::vector<NodePortClaim> claims() = 0;  // ordered by (node_port, protocol)
  // Makes `claims` (all owned by `app`) the app's complete claim set.
  virtual void replace_claims(std::string_view app, const std::vector<NodePortClaim>& claims) = 0;

  // The node's service ranges; nullopt until the first apply records them.
  virtual std::optional<ServiceRanges> service_ranges() = 0;
  virtual void put_service_ranges(const ServiceRanges& ranges) = 0;  // insert or replace

  // Sandboxes. Their app and service need not exist yet (endpoints are level-triggered).
  virtual std::optional<SandboxRecord> find_sandbox(std::string_view id) = 0;
  virtual std::vector<SandboxRecord> sandboxes() = 0;  // ordered by id
  virtual void put_sandbox(const SandboxRecord& sandbox) = 0;  // insert or replace
  virtual bool delete_sandbox(std::string_view id) = 0;

  // Number of committed write transactions that changed anything. A daemon compares it to
  // know whether to recompile; a transaction that wrote nothing leaves it alone.
  virtual std::uint64_t generation() = 0;

  // The change journal: what changed after `since`, up to generation() as this transaction
  // sees it. nullopt when the store cannot say: the journal no longer reaches back that far
  // (it is bounded), `since` is ahead of the store (another file, a restored backup), or the
  // store keeps no journal. A reader then reads everything; nullopt is never wrong, only slow.
  virtual std::optional<ChangeSet> changes_since(std::uint64_t since) = 0;

  virtual void commit() = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // At most one open (not yet committed or destroyed) transaction per Store object; a second
  // begin throws std::logic_error. The Transaction must not outlive the Store.
  virtual std::unique_ptr<Transaction> begin_read() = 0;
  virtual std::unique_ptr<Transaction> begin_write() = 0;  // waits up to the busy timeout
  // True when this handle can only read (its medium is read-only; begin_write throws
  // StoreError saying so). A reader that must see later writes opens a new handle once the
  // medium is writable again.
  virtual bool read_only() const { return false; }
};

}  // namespace portway::store
