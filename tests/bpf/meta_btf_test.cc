// The metadata maps' BTF (controller/dataplane/xdp/meta_btf.h) describes exactly the bytes
// meta_maps.cc writes: a type whose size differed would make the kernel refuse the map.
#include "dataplane/xdp/meta_btf.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "dataplane/xdp/meta_maps.h"

namespace portway::test {
namespace {

using dataplane::xdp::MetaBtf;
using dataplane::xdp::MetaTypes;

std::int64_t size_of(const btf* b, std::uint32_t id) { return btf__resolve_size(b, id); }

std::string name_of(const btf* b, std::uint32_t id) {
  return btf__name_by_offset(b, btf__type_by_id(b, id)->name_off);
}

TEST(MetaBtf, EveryTypeHasTheSizeOfWhatTheMapHolds) {
  const MetaBtf m;
  const btf* b = m.types();
  const auto expect = [&](MetaTypes t, std::int64_t value_size, const char* value_name) {
    SCOPED_TRACE(value_name);
    EXPECT_EQ(size_of(b, t.key), 4);
    EXPECT_EQ(size_of(b, t.value), value_size);
    EXPECT_EQ(name_of(b, t.value), value_name);
  };
  expect(m.sets(), static_cast<std::int64_t>(dataplane::xdp::kMetaNameBytes), "pw_meta_set");
  expect(m.frontends(), static_cast<std::int64_t>(dataplane::xdp::kMetaNameBytes), "pw_meta_frontend");
  expect(m.tc(), 4, "pw_meta_tc");
  expect(m.program(), 8, "pw_meta_program");
  expect(m.layout(), 4, "pw_meta_layout");
}

// An ARRAY map's BTF key must be a 32-bit INT (the kernel refuses anything else, even a typedef
// of an enum): pw_meta_program's key is the plain INT.
TEST(MetaBtf, ArrayKeyIsAPlain32BitInt) {
  const MetaBtf m;
  for (const MetaTypes types : {m.program(), m.layout()}) {
    const btf_type* t = btf__type_by_id(m.types(), types.key);
    ASSERT_TRUE(btf_is_int(t));
    EXPECT_EQ(btf_int_bits(t), 32u);
  }
}

}  // namespace
}  // namespace portway::test
