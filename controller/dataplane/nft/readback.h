// The table as the kernel holds it: sets with their elements (in the same nft text the element
// writer produces, so the two compare as strings) and element counters, chains with their
// hooks, named counters. Read through netlink (table_reader.h) in the product: libnftables'
// listing needs ~10 s for the 530,000 elements of 10,000 services, netlink well under one.
// parse_listing() reads libnftables' JSON listing into the same shape; the tests use it to
// check the netlink reader against libnftables' own view.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>

namespace portway::dataplane::nft {

struct Counter {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;
  bool operator==(const Counter&) const = default;
};

struct SetReadBack {
  std::string signature;  // as layout.h's signature()
  std::unordered_map<std::string, std::string> elements;  // key -> data ("" for sets)
  std::unordered_map<std::string, Counter> counters;       // key -> element counter
  std::unordered_map<std::string, std::string> comments;   // key -> element comment, if any
  bool unreadable_elements = false;  // an element whose shape portway never writes
};

struct ChainReadBack {
  std::string type, hook;  // empty for regular chains
  int priority = 0;
  std::string policy;
  std::size_t rules = 0;
};

struct ReadBack {
  bool table = false;  // false: there is no table inet portway
  std::map<std::string, SetReadBack> sets;
  std::map<std::string, ChainReadBack> chains;
  std::map<std::string, Counter> counters;
};

// Parses the output of `list table inet portway` (JSON). Throws std::runtime_error on JSON
// that is not a listing.
ReadBack parse_listing(std::string_view json);

// Whether `list tables` (JSON) shows table inet portway.
bool listing_has_table(std::string_view json);

}  // namespace portway::dataplane::nft
