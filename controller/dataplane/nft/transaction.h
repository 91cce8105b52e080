// One nft transaction as libnftables input text: every command of one apply, in an order that
// never leaves a reference dangling (chains before the elements that jump to them, elements
// deleted before their chains), sent as one batch so the kernel commits all or nothing.
// Rules precede elements: binding a map to a rule walks all of the map's elements
// (docs/nftables.md "Transactions sized by what changed").
// It also counts what it holds, so tests and benchmarks can show a change's size.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/nft/layout.h"

namespace portway::dataplane::nft {

struct TransactionSize {
  std::size_t commands = 0;  // lines of nft input
  std::size_t elements_added = 0;
  std::size_t elements_deleted = 0;
  std::size_t chains_written = 0;  // added, or flushed and refilled
  std::size_t chains_deleted = 0;
  std::size_t sets_created = 0;
  std::size_t sets_deleted = 0;
  bool operator==(const TransactionSize&) const = default;
};

class Transaction {
 public:
  // Calls may come in any order; text() emits them phase by phase (the order of this list).
  void add_table();
  void flush_chain(const std::string& name);  // drops the rules' references to sets/chains
  void delete_chain_early(std::string_view name);  // a chain to re-create with another hook
  void delete_set(std::string_view name);
  void add_set(SetName s);
  void add_counter(std::string_view name);
  void delete_counter(std::string_view name);
  void add_chain(const ChainDef& c);  // declaration only
  void delete_element(SetName s, const std::string& key);
  // `comment`: empty, or element_comment()'s output (comment.h); anything else is refused with
  // std::logic_error, so no caller can put unchecked text between the quotes.
  void add_element(SetName s, const std::string& key, const std::string& data, const std::string& comment = {});
  void add_rules(const ChainDef& c);  // c's rules, appended to the chain
  void delete_chain(std::string_view name);

  bool empty() const;
  std::string text() const;
  TransactionSize size() const { return size_; }

  // The element operations, per set: deleted keys, added "key", "key : data", with
  // ` comment "..."` after the key when there is one (for tests that replay a transaction on a
  // model of the table).
  const std::vector<std::string>& deleted(SetName s) const { return deletes_[static_cast<std::size_t>(s)]; }
  const std::vector<std::string>& added(SetName s) const { return adds_[static_cast<std::size_t>(s)]; }

 private:
  enum Phase { table, flushes, early_chain_deletes, set_deletes, set_adds, counters, chains, rules, elements_out, elements_in, chain_deletes, kPhases };
  void line(Phase p, std::string s);

  std::array<std::vector<std::string>, kPhases> lines_;
  std::array<std::vector<std::string>, kSetCount> deletes_, adds_;
  TransactionSize size_;
};

}  // namespace portway::dataplane::nft
