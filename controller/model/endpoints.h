// A Service's endpoints (docs/model.md "Sandboxes and endpoints"): the sandboxes whose app AND
// service both match its selector and whose state is running or draining. Stopped sandboxes carry
// no traffic.
//
// Level-triggered by construction: the index is built from the sandboxes in the store at the
// moment of asking, so a Service created after its sandboxes finds them, and nothing depends
// on the order in which things were registered.
#pragma once

#include <span>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "store/records.h"

namespace portway::model {

bool carries_traffic(store::SandboxState s);

class EndpointIndex {
 public:
  // Keeps pointers into `sandboxes`, which must outlive the index. O(n): grouped by hashing,
  // not by sorting, since compiling 100,000 sandboxes must stay cheap.
  explicit EndpointIndex(std::span<const store::SandboxRecord> sandboxes);

  // Ordered by sandbox id (the hash map never decides an order anyone sees).
  std::span<const store::SandboxRecord* const> of(const store::Selector& selector) const;

 private:
  struct Key {
    std::string_view app;
    std::string_view service;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    std::size_t operator()(const Key& k) const;
  };
  std::unordered_map<Key, std::vector<const store::SandboxRecord*>, KeyHash> groups_;
};

}  // namespace portway::model
