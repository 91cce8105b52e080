// A C struct as C++ sees it (size, field offsets) against a compiled BPF object's BTF, what
// clang -target bpf made of the same header: the check behind every ABI header shared by BPF
// and user space. Needs no privileges: the object is parsed from disk.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

struct btf;

namespace portway::test {

struct StructLayout {
  std::string name;
  std::size_t size;
  std::map<std::string, std::size_t> fields;  // name -> byte offset
};

#define PORTWAY_LAYOUT_FIELD(type, field) {#field, offsetof(type, field)}

struct BtfDeleter {
  void operator()(btf* b) const;
};
using BtfPtr = std::unique_ptr<btf, BtfDeleter>;

// The object's BTF, or null when the file has none.
BtfPtr parse_object_btf(const char* path);

// GoogleTest expectations: `want` is a struct of the BTF with the same size and exactly the
// same fields at the same offsets, none of them a bitfield.
void expect_layout_matches(const btf* b, const StructLayout& want);

}  // namespace portway::test
