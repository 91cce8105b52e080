#include "table_model.h"

#include <algorithm>
#include <stdexcept>

namespace portway::dataplane::nft::testing {
namespace {

class ModelSink final : public ElementSink {
 public:
  explicit ModelSink(Contents& c) : c_(c) {}
  void put(SetName set, std::string key, std::string data, std::string /*comment*/) override {
    auto& m = c_[static_cast<std::size_t>(set)];
    if (const auto it = m.find(key); it != m.end() && it->second != data)
      throw std::logic_error("two values for " + key + " in " + std::string(name_of(set)));
    m[std::move(key)] = std::move(data);
  }

 private:
  Contents& c_;
};

}  // namespace

Contents contents_of(const state::DataplaneState& s, const SetNumbers& numbers, const SlotBook& slots) {
  Contents c;
  ModelSink sink(c);
  SlotTables tables(slots, false);
  ElementWriter(s, numbers, tables, sink).all();
  return c;
}

void replay(Contents& c, const Transaction& tx) {
  for (std::size_t i = 0; i < kSetCount; ++i) {
    const auto set = static_cast<SetName>(i);
    for (const auto& key : tx.deleted(set)) {
      if (c[i].erase(key) != 1) throw std::logic_error("deletes missing " + key + " from " + std::string(name_of(set)));
    }
    for (const auto& e : tx.added(set)) {
      // "key[ comment "text"][ : data]"; a comment holds no quote (comment.h), so the next one
      // closes it.
      const auto open = e.find(" comment \"");
      const auto rest = open == std::string::npos ? 0 : e.find('"', open + 10) + 1;
      const auto cut = e.find(" : ", rest);
      const std::string key = e.substr(0, std::min(open, cut));
      const std::string data = cut == std::string::npos ? "" : e.substr(cut + 3);
      if (!c[i].emplace(key, data).second) throw std::logic_error("adds existing " + key + " to " + std::string(name_of(set)));
    }
  }
}

SetNumbers numbers_for(const state::DataplaneState& s) {
  SetNumbers n;
  for (const auto& set : s.backend_sets()) n.assign(set.id);
  return n;
}

}  // namespace portway::dataplane::nft::testing
