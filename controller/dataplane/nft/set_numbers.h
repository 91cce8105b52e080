// Set numbers: how the ruleset refers to a backend set. A backend set's id is the Service id,
// user text (`svc/<app>/<service>`), so it never goes into the ruleset; the ruleset carries a
// 32-bit number derived from it instead (FNV-1a, probing on the rare collision) and portway
// keeps the number -> id book in memory. Numbers only group elements (which frontends and
// draining members belong together); packets never see them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portway::dataplane::nft {

// The preferred number of a set id: stable across runs and builds, never 0.
std::uint32_t preferred_set_number(std::string_view set_id);

class SetNumbers {
 public:
  // The id's number, assigning one (its preferred number, or the next free one) if it has
  // none. Assignment is sticky: an id keeps its number until released.
  std::uint32_t assign(const std::string& set_id);
  void release(const std::string& set_id);

  std::optional<std::uint32_t> number_of(const std::string& set_id) const;
  const std::string* id_of(std::uint32_t number) const;
  std::size_t size() const { return by_id_.size(); }
  void clear();

  // Releases every id for which `keep` is false.
  template <class Pred>
  void retain(Pred keep) {
    for (auto it = by_id_.begin(); it != by_id_.end();) {
      if (keep(it->first)) {
        ++it;
      } else {
        by_number_.erase(it->second);
        it = by_id_.erase(it);
      }
    }
  }

 private:
  std::unordered_map<std::string, std::uint32_t> by_id_;
  std::unordered_map<std::uint32_t, std::string> by_number_;
};

// The id shown for a number nobody told this process about (e.g. installed() in a fresh
// process before any apply): "nft-set-<8 hex digits>".
std::string placeholder_set_id(std::uint32_t number);

}  // namespace portway::dataplane::nft
