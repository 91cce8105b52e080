#include "support/btf_layout.h"

#include <gtest/gtest.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

namespace portway::test {

void BtfDeleter::operator()(btf* b) const { btf__free(b); }

BtfPtr parse_object_btf(const char* path) {
  btf* b = btf__parse_elf(path, nullptr);
  if (libbpf_get_error(b) != 0) return nullptr;
  return BtfPtr(b);
}

void expect_layout_matches(const btf* b, const StructLayout& want) {
  SCOPED_TRACE(want.name);
  const int id = btf__find_by_name_kind(b, want.name.c_str(), BTF_KIND_STRUCT);
  ASSERT_GT(id, 0) << "struct " << want.name << " is not in the object's BTF";
  const btf_type* t = btf__type_by_id(b, static_cast<__u32>(id));
  EXPECT_EQ(t->size, want.size);
  std::map<std::string, std::size_t> got;
  const btf_member* m = btf_members(t);
  for (unsigned short i = 0; i < btf_vlen(t); ++i, ++m) {
    const __u32 bits = btf_member_bit_offset(t, i);
    EXPECT_EQ(bits % 8, 0u) << "bitfield in an ABI struct";
    got[btf__name_by_offset(b, m->name_off)] = bits / 8;
  }
  EXPECT_EQ(got, want.fields);
}

}  // namespace portway::test
