#include "dataplane/nft/readback.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <stdexcept>

#include "dataplane/nft/layout.h"

namespace portway::dataplane::nft {
namespace {

using nlohmann::json;

bool ours(const json& o) {
  return o.value("family", "") == kFamily && o.value("table", o.value("name", "")) == kTable;
}

// One value of a key or of data, in the syntax the element writer uses. False for shapes
// portway never writes (prefixes, ranges, other verdicts).
bool value_text(const json& v, std::string& out) {
  if (v.is_string()) {
    out += v.get_ref<const std::string&>();
    return true;
  }
  if (v.is_number_unsigned() || v.is_number_integer()) {
    out += std::to_string(v.get<std::uint64_t>());
    return true;
  }
  if (!v.is_object() || v.size() != 1) return false;
  const auto& [kind, body] = *v.items().begin();
  if (kind == "concat" && body.is_array()) {
    bool first = true;
    for (const auto& part : body) {
      if (!first) out += " . ";
      first = false;
      if (!value_text(part, out)) return false;
    }
    return true;
  }
  if ((kind == "goto" || kind == "jump") && body.is_object() && body.contains("target")) {
    out += kind;
    out += ' ';
    out += body["target"].get<std::string>();
    return true;
  }
  return false;
}

// Byte length of an nft type as the kernel stores it (0: a type portway never uses).
std::size_t type_len(const std::string& t) {
  if (t == "ipv4_addr" || t == "mark" || t == "integer") return 4;
  if (t == "ipv6_addr") return 16;
  if (t == "inet_service") return 2;
  if (t == "inet_proto") return 1;
  return 0;
}

// Key length as the kernel counts it: concatenated fields take whole 32-bit registers.
std::size_t key_len(const json& t) {
  if (t.is_string()) return type_len(t.get<std::string>());
  std::size_t n = 0;
  for (const auto& part : t) n += (type_len(part.get<std::string>()) + 3) / 4 * 4;
  return n;
}

Counter counter_of(const json& c) {
  return {c.value("packets", std::uint64_t{0}), c.value("bytes", std::uint64_t{0})};
}

void read_set(const json& o, ReadBack& rb) {
  SetReadBack s;
  bool counter = false;
  if (o.contains("stmt")) {
    for (const auto& st : o["stmt"]) counter = counter || st.contains("counter");
  }
  const bool map = o.contains("map");
  const bool verdict = map && o["map"].is_string() && o["map"].get<std::string>() == "verdict";
  s.signature = signature(key_len(o.at("type")), map, verdict, map && !verdict ? key_len(o["map"]) : 0, counter);
  if (o.contains("elem")) {
    for (const auto& e : o["elem"]) {
      // A map element is [key, data]; a key with per-element state is {"elem": {"val": ...}}.
      const json* key = &e;
      const json* data = nullptr;
      if (e.is_array() && e.size() == 2) {
        key = &e[0];
        data = &e[1];
      }
      const json* elem_counter = nullptr;
      std::optional<std::string> comment;
      if (key->is_object() && key->contains("elem")) {
        const json& inner = (*key)["elem"];
        if (inner.contains("counter")) elem_counter = &inner["counter"];
        if (inner.contains("comment")) comment = inner["comment"].get<std::string>();
        key = &inner.at("val");
      }
      std::string k, d;
      if (!value_text(*key, k) || (data && !value_text(*data, d))) {
        s.unreadable_elements = true;
        continue;
      }
      if (elem_counter) s.counters[k] = counter_of(*elem_counter);
      if (comment) s.comments[k] = std::move(*comment);
      s.elements[std::move(k)] = std::move(d);
    }
  }
  rb.sets[o.at("name").get<std::string>()] = std::move(s);
}

}  // namespace

ReadBack parse_listing(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end());
  if (!doc.is_object() || !doc.contains("nftables")) throw std::runtime_error("not an nft JSON listing");
  ReadBack rb;
  for (const auto& item : doc["nftables"]) {
    if (item.contains("table")) {
      if (ours(item["table"])) rb.table = true;
    } else if (item.contains("set") || item.contains("map")) {
      const json& o = item.contains("set") ? item["set"] : item["map"];
      if (ours(o)) read_set(o, rb);
    } else if (item.contains("chain")) {
      const json& o = item["chain"];
      if (!ours(o)) continue;
      ChainReadBack c;
      c.type = o.value("type", "");
      c.hook = o.value("hook", "");
      c.priority = o.value("prio", 0);
      c.policy = o.value("policy", "");
      rb.chains[o.at("name").get<std::string>()] = std::move(c);
    } else if (item.contains("rule")) {
      const json& o = item["rule"];
      if (!ours(o)) continue;
      ++rb.chains[o.at("chain").get<std::string>()].rules;
    } else if (item.contains("counter")) {
      const json& o = item["counter"];
      if (ours(o)) rb.counters[o.at("name").get<std::string>()] = counter_of(o);
    }
  }
  return rb;
}

bool listing_has_table(std::string_view text) {
  const json doc = json::parse(text.begin(), text.end());
  if (!doc.is_object() || !doc.contains("nftables")) throw std::runtime_error("not an nft JSON listing");
  for (const auto& item : doc["nftables"])
    if (item.contains("table") && ours(item["table"])) return true;
  return false;
}

}  // namespace portway::dataplane::nft
