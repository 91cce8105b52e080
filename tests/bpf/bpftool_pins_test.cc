// What an operator sees with bpftool on the pinned maps (docs/operations.md, "Reading the
// pinned maps with bpftool"): the fast path is loaded and pinned into a pin folder of this test,
// a few entries are written, and bpftool's JSON must show names where the BTF carries them:
// drop reasons through the enum in the maps' BTF, frontend kinds and backend states as enum
// names, the metadata maps' values as fields and strings.
#include <arpa/inet.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/meta_maps.h"
#include "loader/bpffs.h"
#include "loader/lb_drop_reasons.h"
#include "loader/lb_maps.h"
#include "loader/xdp_link.h"
#include "portway/lb_abi.h"
#include "support/root.h"
#include "support/run_command.h"

#ifndef PORTWAY_BPFTOOL
#error "PORTWAY_BPFTOOL must name the bpftool binary"
#endif

namespace portway::test {
namespace {

using nlohmann::json;

// The pin folder of this test process; everything under it goes when the test ends.
class PinFolder {
 public:
  PinFolder() : dir_("/sys/fs/bpf/portway-test-bpftool-" + std::to_string(getpid())) {
    loader::ensure_bpffs(dir_);
    for (const auto& sub : {pins().maps(), pins().progs(), pins().links()}) std::filesystem::create_directories(sub);
  }
  ~PinFolder() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  PinFolder(const PinFolder&) = delete;
  PinFolder& operator=(const PinFolder&) = delete;
  dataplane::xdp::PinLayout pins() const { return {dir_}; }

 private:
  std::string dir_;
};

json bpftool(const std::string& args) {
  const std::string cmd = std::string(PORTWAY_BPFTOOL) + " -j " + args;
  const auto r = run_command(cmd);
  if (r.status != 0) throw std::runtime_error(cmd + " failed: " + r.out);
  return json::parse(r.out);
}

// The enum `name` of the BTF object `btf_id`, value -> enumerator name.
std::map<long long, std::string> btf_enum(long long btf_id, const std::string& name) {
  std::map<long long, std::string> out;
  const json dump = bpftool("btf dump id " + std::to_string(btf_id));
  for (const json& t : dump["types"]) {
    if (t["kind"] != "ENUM" || t["name"] != name) continue;
    for (const json& v : t["values"]) out[v["val"].get<long long>()] = v["name"].get<std::string>();
  }
  return out;
}

std::string lower_without(std::string s, std::string_view prefix) {
  s.erase(0, prefix.size());
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class BpftoolPins : public ::testing::Test {
 protected:
  void SetUp() override {
    PORTWAY_REQUIRE_ROOT();
    folder_.emplace();
    loader::LbCapacities caps;
    caps.frontends = 64;
    caps.service_addrs = 64;
    caps.node_addrs = 8;
    caps.backends = 64;
    caps.backend_sets = 16;
    caps.maglev_slots = 1024;
    caps.flows = 256;
    caps.fragments = 64;
    programs_ = dataplane::xdp::load_and_pin(pins(), caps);
  }
  dataplane::xdp::PinLayout pins() const { return folder_->pins(); }
  std::string map(const std::string& name) const { return "pinned " + pins().map(name); }

  std::optional<PinFolder> folder_;
  dataplane::xdp::LoadedPrograms programs_;
};

TEST_F(BpftoolPins, DropsReadAsReasonNamesThroughTheEnumInTheMapsBtf) {
  const auto maps = dataplane::xdp::PinnedLbMaps::open(pins());
  ASSERT_TRUE(maps);
  const int ncpu = libbpf_num_possible_cpus();
  ASSERT_GT(ncpu, 0);
  std::vector<std::uint64_t> per_cpu(static_cast<std::size_t>(ncpu), 0);
  per_cpu[0] = 5;
  per_cpu.back() += 2;
  const std::uint32_t reason = PW_DROP_NO_BACKEND;
  ASSERT_EQ(bpf_map_update_elem(maps->fds().drops, &reason, per_cpu.data(), BPF_ANY), 0);

  // The documented recipe: the map's BTF id, the enum in that BTF, the keys joined with it.
  const json show = bpftool("map show " + map("pw_drops"));
  ASSERT_TRUE(show.contains("btf_id")) << show.dump();
  const auto names = btf_enum(show["btf_id"].get<long long>(), "pw_drop_reason");
  ASSERT_EQ(names.size(), static_cast<std::size_t>(PW_DROP_REASONS) + 1);  // + PW_DROP_REASONS itself
  std::map<std::string, std::uint64_t> drops;
  for (const json& e : bpftool("map dump " + map("pw_drops"))) {
    const long long key = e["formatted"]["key"].get<long long>();
    std::uint64_t sum = 0;
    for (const json& v : e["formatted"]["values"]) sum += v["value"].get<std::uint64_t>();
    if (key >= PW_DROP_REASONS) {  // room for reasons a later version appends: unnamed, 0
      EXPECT_EQ(sum, 0u) << key;
      continue;
    }
    ASSERT_TRUE(names.contains(key)) << key;
    drops[names.at(key)] = sum;
  }
  EXPECT_EQ(drops.size(), static_cast<std::size_t>(PW_DROP_REASONS));
  EXPECT_EQ(drops["PW_DROP_NO_BACKEND"], 7u);
  EXPECT_EQ(drops["PW_DROP_IP_TRUNCATED"], 0u);
  // The names bpftool shows are the loader's names (stats, dump, metrics) in upper case.
  for (const auto& [value, name] : names) {
    if (value < PW_DROP_REASONS) {
      EXPECT_EQ(lower_without(name, "PW_DROP_"), loader::drop_reason_name(static_cast<std::uint32_t>(value)));
    }
  }
}

TEST_F(BpftoolPins, FrontendKindsAndBackendStatesReadAsNames) {
  const auto pinned = dataplane::xdp::PinnedLbMaps::open(pins());
  ASSERT_TRUE(pinned);
  loader::LbMaps maps(pinned->fds());
  pw_frontend_key key{};
  key.port = htons(27015);
  key.proto = IPPROTO_TCP;
  key.kind = PW_FRONTEND_NODE_PORT;
  pw_frontend fe{};
  fe.id = 5;
  fe.set_id = 3;
  fe.target_port = htons(8080);
  maps.upsert_frontend(key, fe);
  pw_backend be{};
  be.addr = htonl(0xC6120002);  // 198.18.0.2
  be.set_id = 3;
  be.state = PW_BACKEND_DRAINING;
  maps.set_backend(4, be);

  const json frontends = bpftool("map dump " + map("pw_frontends"));
  ASSERT_EQ(frontends.size(), 1u) << frontends.dump();
  const json& k = frontends[0]["formatted"]["key"];
  EXPECT_EQ(k["kind"], "PW_FRONTEND_NODE_PORT");
  EXPECT_EQ(k["proto"], IPPROTO_TCP);
  // Big-endian fields print as the host reads their bytes: 27015 on the wire is 34665 here,
  // and the documented conversion turns it back.
  const auto port = k["port"].get<std::uint32_t>();
  EXPECT_EQ(port, 34665u);
  EXPECT_EQ(((port & 0xffu) << 8) | (port >> 8), 27015u);
  EXPECT_EQ(frontends[0]["formatted"]["value"]["set_id"], 3);

  bool found = false;
  for (const json& e : bpftool("map dump " + map("pw_backends"))) {
    if (e["formatted"]["key"] != 4) {
      EXPECT_EQ(e["formatted"]["value"]["state"], "PW_BACKEND_UNUSED");
      continue;
    }
    found = true;
    EXPECT_EQ(e["formatted"]["value"]["state"], "PW_BACKEND_DRAINING");
    EXPECT_EQ(e["formatted"]["value"]["addr"].get<std::uint32_t>(), 0x020012C6u);  // 198.18.0.2 read little-endian
  }
  EXPECT_TRUE(found);
}

TEST_F(BpftoolPins, MetadataMapsReadAsFieldsAndStrings) {
  auto meta = dataplane::xdp::MetaMaps::open_or_create(pins(), 16, 64);
  meta.set_set_name(3, "svc/app-1/web");
  meta.set_frontend_name(5, "http");
  meta.set_tc_owned(7, true);
  meta.set_uplink_tc_owned(8, false);
  meta.set_program_fingerprint(0x1234);

  const json sets = bpftool("map dump " + map("pw_meta_sets"));
  ASSERT_EQ(sets.size(), 1u) << sets.dump();
  EXPECT_EQ(sets[0]["formatted"]["key"], 3);
  EXPECT_EQ(sets[0]["formatted"]["value"]["service"], "svc/app-1/web");
  const json frontends = bpftool("map dump " + map("pw_meta_frontends"));
  ASSERT_EQ(frontends.size(), 1u);
  EXPECT_EQ(frontends[0]["formatted"]["value"]["port_name"], "http");
  const json tc = bpftool("map dump " + map("pw_meta_tc"));
  ASSERT_EQ(tc.size(), 1u);
  EXPECT_EQ(tc[0]["formatted"]["key"], 7);
  EXPECT_EQ(tc[0]["formatted"]["value"]["clsact"], "PW_CLSACT_CREATED");
  const json uplink = bpftool("map dump " + map("pw_meta_tc_uplink"));
  ASSERT_EQ(uplink.size(), 1u);
  EXPECT_EQ(uplink[0]["formatted"]["value"]["clsact"], "PW_CLSACT_FOUND");
  const json program = bpftool("map dump " + map("pw_meta_program"));
  ASSERT_EQ(program.size(), 1u);
  EXPECT_EQ(program[0]["formatted"]["value"]["object_fingerprint"], 0x1234);
}

// Why pw_drops keeps an INT key and carries its enum beside it (bpf/lib/maps.h): the kernel
// refuses an enum as the BTF key of a (per-CPU) array map. Should a kernel ever accept it,
// this fails, and the key can become the enum.
TEST(BpftoolKernel, ArrayMapsRefuseAnEnumKey) {
  PORTWAY_REQUIRE_ROOT();
  btf* b = btf__new_empty();
  ASSERT_TRUE(b);
  const int u32 = btf__add_int(b, "unsigned int", 4, 0);
  const int u64 = btf__add_int(b, "unsigned long long", 8, 0);
  const int reason = btf__add_enum(b, "pw_drop_reason", 4);
  ASSERT_EQ(btf__add_enum_value(b, "PW_DROP_NONE", 0), 0);
  ASSERT_EQ(btf__load_into_kernel(b), 0);
  const auto create = [&](int key_type) {
    LIBBPF_OPTS(bpf_map_create_opts, opts, .btf_fd = static_cast<__u32>(btf__fd(b)),
                .btf_key_type_id = static_cast<__u32>(key_type), .btf_value_type_id = static_cast<__u32>(u64));
    const int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "pw_test_enum", 4, 8, 2, &opts);
    const int err = fd < 0 ? errno : 0;
    if (fd >= 0) close(fd);
    return err;
  };
  EXPECT_EQ(create(reason), EINVAL);
  EXPECT_EQ(create(u32), 0);
  btf__free(b);
}

}  // namespace
}  // namespace portway::test
