#include "dataplane/xdp/meta_btf.h"

#include <cerrno>
#include <string>

#include "dataplane/xdp/meta_maps.h"
#include "loader/error.h"

namespace portway::dataplane::xdp {
namespace {

std::uint32_t check_id(int id, const char* what) {
  if (id <= 0) throw loader::Error("describe metadata maps in BTF", id < 0 ? -id : EINVAL, what);
  return static_cast<std::uint32_t>(id);
}

// A struct with a single field of type `field_type` and size `size`.
std::uint32_t one_field_struct(btf* b, const char* name, const char* field, std::uint32_t field_type,
                               std::uint32_t size) {
  const std::uint32_t id = check_id(btf__add_struct(b, name, size), name);
  if (btf__add_field(b, field, static_cast<int>(field_type), 0, 0) != 0)
    throw loader::Error("describe metadata maps in BTF", EINVAL, std::string(name) + "." + field);
  return id;
}

}  // namespace

MetaBtf::MetaBtf() : btf_(btf__new_empty()) {
  if (!btf_) throw loader::Error("describe metadata maps in BTF", errno);
  btf* b = btf_.get();
  const std::uint32_t u32 = check_id(btf__add_int(b, "unsigned int", 4, 0), "unsigned int");
  const std::uint32_t u64 = check_id(btf__add_int(b, "unsigned long long", 8, 0), "unsigned long long");
  // bpftool prints an array of a 1-byte INT named char as a string when the bytes are
  // printable and NUL-terminated, which the names always are (meta_maps.cc).
  const std::uint32_t chr = check_id(btf__add_int(b, "char", 1, BTF_INT_SIGNED), "char");
  const std::uint32_t name = check_id(
      btf__add_array(b, static_cast<int>(u32), static_cast<int>(chr), static_cast<std::uint32_t>(kMetaNameBytes)),
      "char[]");
  // Keys: typedefs of a 32-bit INT (an ARRAY map's key must resolve to one).
  const auto key = [&](const char* n) { return check_id(btf__add_typedef(b, n, static_cast<int>(u32)), n); };

  sets_ = {key("pw_set_id"), one_field_struct(b, "pw_meta_set", "service", name, kMetaNameBytes)};
  frontends_ = {key("pw_frontend_id"), one_field_struct(b, "pw_meta_frontend", "port_name", name, kMetaNameBytes)};

  const std::uint32_t clsact = check_id(btf__add_enum(b, "pw_meta_clsact", 4), "pw_meta_clsact");
  if (btf__add_enum_value(b, "PW_CLSACT_FOUND", 0) != 0 || btf__add_enum_value(b, "PW_CLSACT_CREATED", 1) != 0)
    throw loader::Error("describe metadata maps in BTF", EINVAL, "pw_meta_clsact");
  tc_ = {key("pw_ifindex"), one_field_struct(b, "pw_meta_tc", "clsact", clsact, 4)};

  program_ = {u32, one_field_struct(b, "pw_meta_program", "object_fingerprint", u64, 8)};
  layout_ = {u32, one_field_struct(b, "pw_meta_layout", "version", u32, 4)};
}

int MetaBtf::fd() {
  if (!loaded_) {
    if (btf__load_into_kernel(btf_.get()) != 0) throw loader::Error("load the metadata maps' BTF", errno);
    loaded_ = true;
  }
  return btf__fd(btf_.get());
}

}  // namespace portway::dataplane::xdp
