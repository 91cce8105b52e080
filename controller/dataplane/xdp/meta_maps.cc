#include "dataplane/xdp/meta_maps.h"

#include <bpf/bpf.h>

#include <array>
#include <cerrno>
#include <cstring>

#include "dataplane/xdp/meta_btf.h"
#include "loader/error.h"
#include "loader/xdp_link.h"

namespace portway::dataplane::xdp {
namespace {

using Name = std::array<char, kMetaNameBytes>;

struct MapSpec {
  const char* name;
  bpf_map_type type;
  std::uint32_t value_size;
  MetaTypes (MetaBtf::*types)() const;
};

constexpr MapSpec kSets{"pw_meta_sets", BPF_MAP_TYPE_HASH, kMetaNameBytes, &MetaBtf::sets};
constexpr MapSpec kFrontends{"pw_meta_frontends", BPF_MAP_TYPE_HASH, kMetaNameBytes, &MetaBtf::frontends};
constexpr MapSpec kTc{"pw_meta_tc", BPF_MAP_TYPE_HASH, sizeof(std::uint32_t), &MetaBtf::tc};
constexpr MapSpec kTcUplink{"pw_meta_tc_uplink", BPF_MAP_TYPE_HASH, sizeof(std::uint32_t), &MetaBtf::tc};
constexpr MapSpec kProgram{"pw_meta_program", BPF_MAP_TYPE_ARRAY, sizeof(std::uint64_t), &MetaBtf::program};
constexpr MapSpec kLayout{"pw_meta_layout", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t), &MetaBtf::layout};

// A map pinned by an older version keeps the BTF it was created with (none): the kernel gives
// a map its BTF only at creation, and re-creating it here would leave other holders of the old
// map writing into one nobody reads.
loader::UniqueFd open_or_create_map(const PinLayout& pins, const MapSpec& spec,
                                    std::uint32_t max_entries, MetaBtf& btf) {
  const std::string path = pins.map(spec.name);
  loader::UniqueFd fd = loader::open_pinned(path);
  if (fd) return fd;
  const MetaTypes types = (btf.*spec.types)();
  bpf_map_create_opts opts{};
  opts.sz = sizeof opts;
  opts.btf_fd = static_cast<__u32>(btf.fd());
  opts.btf_key_type_id = types.key;
  opts.btf_value_type_id = types.value;
  const int created = bpf_map_create(spec.type, spec.name, sizeof(std::uint32_t),
                                     spec.value_size, max_entries, &opts);
  if (created < 0) throw loader::Error("create metadata map", errno, spec.name);
  fd.reset(created);
  loader::pin_object(fd.get(), path);
  return fd;
}

Name to_name(const std::string& s) {
  if (s.size() >= kMetaNameBytes) throw loader::Error("metadata name", ENAMETOOLONG, s);
  Name n{};
  std::memcpy(n.data(), s.data(), s.size());
  return n;
}

void put(int fd, std::uint32_t key, const void* value, const char* what) {
  if (bpf_map_update_elem(fd, &key, value, BPF_ANY) != 0) throw loader::Error("update", errno, what);
}

// Many names in one BPF_MAP_UPDATE_BATCH (a full programming writes ~50,000 of them).
void put_names(int fd, const std::vector<std::pair<std::uint32_t, std::string>>& names,
               const char* what) {
  if (names.empty()) return;
  std::vector<std::uint32_t> keys;
  std::vector<Name> values;
  keys.reserve(names.size());
  values.reserve(names.size());
  for (const auto& [key, name] : names) {
    keys.push_back(key);
    values.push_back(to_name(name));
  }
  __u32 count = static_cast<__u32>(keys.size());
  bpf_map_batch_opts opts{};
  opts.sz = sizeof opts;
  if (bpf_map_update_batch(fd, keys.data(), values.data(), &count, &opts) != 0 || count != keys.size())
    throw loader::Error("update batch", errno, what);
}

void erase(int fd, std::uint32_t key, const char* what) {
  if (bpf_map_delete_elem(fd, &key) != 0 && errno != ENOENT) throw loader::Error("delete", errno, what);
}

template <typename V>
std::map<std::uint32_t, V> dump(int fd) {
  std::map<std::uint32_t, V> out;
  std::uint32_t key = 0, next = 0;
  const std::uint32_t* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    V value{};
    if (bpf_map_lookup_elem(fd, &next, &value) == 0) out.emplace(next, value);
    key = next;
    prev = &key;
  }
  return out;
}

std::map<std::uint32_t, std::string> dump_names(int fd) {
  std::map<std::uint32_t, std::string> out;
  for (const auto& [k, v] : dump<Name>(fd)) out.emplace(k, std::string(v.data(), strnlen(v.data(), v.size())));
  return out;
}

}  // namespace

MetaMaps MetaMaps::open_or_create(const PinLayout& pins, std::uint32_t max_sets,
                                  std::uint32_t max_frontends) {
  MetaMaps m;
  MetaBtf btf;
  m.sets_ = open_or_create_map(pins, kSets, max_sets, btf);
  m.frontends_ = open_or_create_map(pins, kFrontends, max_frontends, btf);
  m.tc_ = open_or_create_map(pins, kTc, 4096, btf);
  m.program_ = open_or_create_map(pins, kProgram, 1, btf);
  m.tc_uplink_ = open_or_create_map(pins, kTcUplink, 4096, btf);
  m.layout_ = open_or_create_map(pins, kLayout, 1, btf);
  return m;
}

std::optional<MetaMaps> MetaMaps::open_existing(const PinLayout& pins) {
  MetaMaps m;
  m.sets_ = loader::open_pinned(pins.map(kSets.name));
  m.frontends_ = loader::open_pinned(pins.map(kFrontends.name));
  m.tc_ = loader::open_pinned(pins.map(kTc.name));
  m.program_ = loader::open_pinned(pins.map(kProgram.name));
  if (!m.sets_ || !m.frontends_ || !m.tc_ || !m.program_) return std::nullopt;
  m.tc_uplink_ = loader::open_pinned(pins.map(kTcUplink.name));  // optional: older pins
  m.layout_ = loader::open_pinned(pins.map(kLayout.name));        // optional: layout 1
  return m;
}

void MetaMaps::set_set_name(std::uint32_t set_id, const std::string& name) {
  const Name n = to_name(name);
  put(sets_.get(), set_id, n.data(), kSets.name);
}
void MetaMaps::set_set_names(const std::vector<std::pair<std::uint32_t, std::string>>& names) {
  put_names(sets_.get(), names, kSets.name);
}
void MetaMaps::set_frontend_names(const std::vector<std::pair<std::uint32_t, std::string>>& names) {
  put_names(frontends_.get(), names, kFrontends.name);
}
void MetaMaps::erase_set(std::uint32_t set_id) { erase(sets_.get(), set_id, kSets.name); }
std::map<std::uint32_t, std::string> MetaMaps::set_names() const { return dump_names(sets_.get()); }

void MetaMaps::set_frontend_name(std::uint32_t frontend_id, const std::string& name) {
  const Name n = to_name(name);
  put(frontends_.get(), frontend_id, n.data(), kFrontends.name);
}
void MetaMaps::erase_frontend(std::uint32_t frontend_id) {
  erase(frontends_.get(), frontend_id, kFrontends.name);
}
std::map<std::uint32_t, std::string> MetaMaps::frontend_names() const {
  return dump_names(frontends_.get());
}

void MetaMaps::set_tc_owned(std::uint32_t ifindex, bool created_clsact) {
  const std::uint32_t v = created_clsact ? 1 : 0;
  put(tc_.get(), ifindex, &v, kTc.name);
}
void MetaMaps::erase_tc(std::uint32_t ifindex) { erase(tc_.get(), ifindex, kTc.name); }
std::map<std::uint32_t, bool> MetaMaps::tc_interfaces() const {
  std::map<std::uint32_t, bool> out;
  for (const auto& [k, v] : dump<std::uint32_t>(tc_.get())) out.emplace(k, v != 0);
  return out;
}

void MetaMaps::set_uplink_tc_owned(std::uint32_t ifindex, bool created_clsact) {
  if (!tc_uplink_) throw loader::Error("update", ENOENT, kTcUplink.name);
  const std::uint32_t v = created_clsact ? 1 : 0;
  put(tc_uplink_.get(), ifindex, &v, kTcUplink.name);
}
void MetaMaps::erase_uplink_tc(std::uint32_t ifindex) {
  if (tc_uplink_) erase(tc_uplink_.get(), ifindex, kTcUplink.name);
}
std::map<std::uint32_t, bool> MetaMaps::uplink_tc_interfaces() const {
  std::map<std::uint32_t, bool> out;
  if (!tc_uplink_) return out;
  for (const auto& [k, v] : dump<std::uint32_t>(tc_uplink_.get())) out.emplace(k, v != 0);
  return out;
}

std::uint64_t MetaMaps::program_fingerprint() const {
  std::uint32_t key = 0;
  std::uint64_t v = 0;
  if (bpf_map_lookup_elem(program_.get(), &key, &v) != 0) return 0;
  return v;
}

void MetaMaps::set_program_fingerprint(std::uint64_t fp) { put(program_.get(), 0, &fp, kProgram.name); }

std::uint32_t MetaMaps::pinned_layout(const PinLayout& pins) {
  // The record first: pins of a newer layout are that layout even with a map pin missing.
  if (const loader::UniqueFd fd = loader::open_pinned(pins.map(kLayout.name))) {
    std::uint32_t key = 0, version = 0;
    if (bpf_map_lookup_elem(fd.get(), &key, &version) == 0 && version != 0) return version;
  }
  // pw_frontends is in every layout; a folder without it holds no fast path to upgrade.
  return loader::open_pinned(pins.map("pw_frontends")) ? 1 : 0;
}

void MetaMaps::set_layout_version(std::uint32_t version) {
  if (!layout_) throw loader::Error("update", ENOENT, kLayout.name);
  put(layout_.get(), 0, &version, kLayout.name);
}

}  // namespace portway::dataplane::xdp
