#include "dataplane/nft/transaction.h"

#include <algorithm>
#include <stdexcept>

#include "dataplane/nft/comment.h"

namespace portway::dataplane::nft {
namespace {

// Elements per `add element` command: large enough that parsing dominates, small enough that
// no single line gets huge.
constexpr std::size_t kElementsPerCommand = 2048;

std::string ref(std::string_view what, std::string_view name) {
  std::string s(what);
  s += ' ';
  s += kTableRef;
  s += ' ';
  s += name;
  return s;
}

void emit_elements(std::string& out, std::string_view verb, SetName set, const std::vector<std::string>& items) {
  for (std::size_t i = 0; i < items.size(); i += kElementsPerCommand) {
    out += verb;
    out += " element ";
    out += kTableRef;
    out += ' ';
    out += name_of(set);
    out += " { ";
    const std::size_t end = std::min(items.size(), i + kElementsPerCommand);
    for (std::size_t j = i; j < end; ++j) {
      if (j > i) out += ", ";
      out += items[j];
    }
    out += " }\n";
  }
}

}  // namespace

void Transaction::line(Phase p, std::string s) {
  lines_[p].push_back(std::move(s));
  ++size_.commands;
}

void Transaction::add_table() { line(table, "add table " + std::string(kTableRef)); }

void Transaction::flush_chain(const std::string& name) { line(flushes, ref("flush chain", name)); }

void Transaction::delete_chain_early(std::string_view name) {
  line(early_chain_deletes, ref("delete chain", name));
  ++size_.chains_deleted;
}

void Transaction::delete_set(std::string_view name) {
  line(set_deletes, ref("delete set", name));
  ++size_.sets_deleted;
}

void Transaction::add_set(SetName s) {
  const SetDef& d = def(s);
  line(set_adds, ref(d.is_map() ? "add map" : "add set", d.name) + " { " + std::string(d.declaration) + " }");
  ++size_.sets_created;
}

void Transaction::add_counter(std::string_view name) { line(counters, ref("add counter", name)); }

void Transaction::delete_counter(std::string_view name) { line(counters, ref("delete counter", name)); }

void Transaction::add_chain(const ChainDef& c) { line(chains, add_chain_command(c)); }

void Transaction::delete_element(SetName s, const std::string& key) {
  auto& v = deletes_[static_cast<std::size_t>(s)];
  if (v.size() % kElementsPerCommand == 0) ++size_.commands;
  v.push_back(key);
  ++size_.elements_deleted;
}

void Transaction::add_element(SetName s, const std::string& key, const std::string& data, const std::string& comment) {
  if (comment.size() > kCommentMaxBytes || comment_safe(comment) != comment)
    throw std::logic_error("nft: unsafe element comment for " + key);
  auto& v = adds_[static_cast<std::size_t>(s)];
  if (v.size() % kElementsPerCommand == 0) ++size_.commands;
  std::string e = key;
  if (!comment.empty()) e += " comment \"" + comment + "\"";
  if (!data.empty()) e += " : " + data;
  v.push_back(std::move(e));
  ++size_.elements_added;
}

void Transaction::add_rules(const ChainDef& c) {
  for (const auto& r : c.rules) line(rules, ref("add rule", c.name) + " " + r);
  ++size_.chains_written;
}

void Transaction::delete_chain(std::string_view name) {
  line(chain_deletes, ref("delete chain", name));
  ++size_.chains_deleted;
}

bool Transaction::empty() const { return size_.commands == 0; }

std::string Transaction::text() const {
  std::string out;
  std::size_t bytes = 0;
  for (const auto& phase : lines_)
    for (const auto& l : phase) bytes += l.size() + 1;
  for (std::size_t s = 0; s < kSetCount; ++s)
    for (const auto* v : {&deletes_[s], &adds_[s]})
      for (const auto& e : *v) bytes += e.size() + 2;
  out.reserve(bytes + 4096);

  for (int p = table; p < kPhases; ++p) {
    if (p == elements_out) {
      for (std::size_t s = 0; s < kSetCount; ++s) emit_elements(out, "delete", static_cast<SetName>(s), deletes_[s]);
      continue;
    }
    if (p == elements_in) {
      for (std::size_t s = 0; s < kSetCount; ++s) emit_elements(out, "add", static_cast<SetName>(s), adds_[s]);
      continue;
    }
    for (const auto& l : lines_[static_cast<std::size_t>(p)]) {
      out += l;
      out += '\n';
    }
  }
  return out;
}

}  // namespace portway::dataplane::nft
