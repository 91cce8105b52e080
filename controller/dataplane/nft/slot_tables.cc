#include "dataplane/nft/slot_tables.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "dataplane/nft/layout.h"

namespace portway::dataplane::nft {
namespace {

// The smallest M' = M * 2^k with M' >= N and either N | M' (exact balance) or M' >= 4N.
std::size_t grown_size(std::size_t m, std::size_t n) {
  if (m == 0) return n;
  while (m < n || (m % n != 0 && m < 4 * n)) m *= 2;
  return m;
}

}  // namespace

SlotTable next_slot_table(const SlotTable& current, std::span<const state::IpAddress> running) {
  const std::size_t n = running.size();
  if (n == 0) return {};
  if (current.empty()) return SlotTable(running.begin(), running.end());

  // Doubling: new slot i covers the first or second half of old slot i / 2^k's hash range
  // (reciprocal_scale), so every flow keeps its backend.
  const std::size_t m = grown_size(current.size(), n);
  const std::size_t factor = m / current.size();
  SlotTable table(m);
  for (std::size_t i = 0; i < m; ++i) table[i] = current[i / factor];

  // Quotas: M / N each, one more for the M mod N backends holding the most slots already
  // (ties: lower address), so a table that is already balanced stays as it is.
  std::map<state::IpAddress, std::size_t> index;  // address -> position in running
  for (std::size_t b = 0; b < n; ++b) index.emplace(running[b], b);
  std::vector<std::size_t> held(n, 0);
  for (const auto& a : table)
    if (const auto it = index.find(a); it != index.end()) ++held[it->second];
  std::vector<std::size_t> order(n);
  for (std::size_t b = 0; b < n; ++b) order[b] = b;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return held[x] > held[y]; });
  std::vector<std::size_t> quota(n, m / n);
  for (std::size_t i = 0; i < m % n; ++i) ++quota[order[i]];

  // Free the slots of backends that no longer run and those beyond a quota (the highest
  // ones), then deal the free slots, lowest first, to backends under their quota.
  std::vector<std::size_t> kept(n, 0);
  std::vector<bool> free_slot(m, false);
  for (std::size_t i = 0; i < m; ++i) {
    const auto it = index.find(table[i]);
    if (it == index.end()) free_slot[i] = true;
    else if (++kept[it->second] > quota[it->second]) free_slot[i] = true;
  }
  std::size_t next_free = 0;
  for (std::size_t b = 0; b < n; ++b) {
    for (std::size_t have = std::min(held[b], quota[b]); have < quota[b]; ++have) {
      while (!free_slot[next_free]) ++next_free;
      table[next_free] = running[b];
      free_slot[next_free] = false;
    }
  }
  return table;
}

SlotBook read_slot_book(const ReadBack& rb) {
  std::map<std::string, std::map<std::size_t, state::IpAddress>> slots;
  for (const SetName s : {SetName::svc_slots, SetName::np_slots, SetName::svc_slots6, SetName::np_slots6}) {
    const auto it = rb.sets.find(std::string(name_of(s)));
    if (it == rb.sets.end()) continue;
    const bool v6 = s == SetName::svc_slots6 || s == SetName::np_slots6;
    const std::string prefix = s == SetName::np_slots6 ? std::string(kNodePort6Book) : "";
    for (const auto& [key, data] : it->second.elements) {
      const auto cut = key.rfind(" . ");
      std::size_t slot = 0;
      std::optional<state::IpAddress> backend;
      if (!v6) {
        if (const auto a = net::parse_ipv4(data)) backend = *a;
      } else if (const auto a = net::parse_ipv6(data)) {
        backend = *a;
      }
      if (cut == std::string::npos || !backend) continue;
      const char* first = key.data() + cut + 3;
      const char* last = key.data() + key.size();
      if (auto [p, ec] = std::from_chars(first, last, slot); ec != std::errc{} || p != last) continue;
      slots[prefix + key.substr(0, cut)][slot] = *backend;
    }
  }
  SlotBook book;
  for (auto& [key, by_slot] : slots) {
    // Complete: the keys are 0..M-1 exactly (a map is ordered, so the last one is M-1).
    if (by_slot.rbegin()->first + 1 != by_slot.size()) continue;
    SlotTable& t = book[key];
    for (const auto& [slot, backend] : by_slot) t.push_back(backend);
  }
  return book;
}

const SlotTable& SlotTables::table(const std::string& key, std::span<const state::IpAddress> running) {
  if (const auto it = handed_out_.find(key); it != handed_out_.end()) return it->second;
  const auto installed = installed_.find(key);
  const SlotTable none;
  const SlotTable& current = installed == installed_.end() ? none : installed->second;
  SlotTable t = !advance_ && !current.empty() ? current : next_slot_table(current, running);
  return handed_out_.emplace(key, std::move(t)).first->second;
}

}  // namespace portway::dataplane::nft
