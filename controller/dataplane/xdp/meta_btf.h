// BTF for the metadata maps (meta_maps.h), so that `bpftool map dump` prints their values as
// names and fields instead of hex bytes (docs/operations.md, "Reading the pinned maps with
// bpftool"). The maps are created by the controller, not by libbpf from an object, so their
// types are described here with libbpf's BTF writer. The bytes stay what meta_maps.cc writes:
// every value type has exactly the map's value size (checked by tests/unit).
#pragma once

#include <bpf/btf.h>

#include <cstdint>
#include <memory>

namespace portway::dataplane::xdp {

// Type ids of one map's key and value in a MetaBtf.
struct MetaTypes {
  std::uint32_t key = 0;
  std::uint32_t value = 0;
};

class MetaBtf {
 public:
  // Builds the types (no kernel involved). Throws loader::Error when libbpf refuses a type.
  MetaBtf();

  // Loads the types into the kernel once; the fd is what bpf_map_create_opts.btf_fd takes.
  // Throws loader::Error (e.g. EPERM without CAP_BPF).
  int fd();

  const btf* types() const { return btf_.get(); }
  MetaTypes sets() const { return sets_; }            // set id -> struct pw_meta_set
  MetaTypes frontends() const { return frontends_; }  // frontend id -> struct pw_meta_frontend
  MetaTypes tc() const { return tc_; }                // ifindex -> struct pw_meta_tc (both tc maps)
  MetaTypes program() const { return program_; }      // 0 -> struct pw_meta_program
  MetaTypes layout() const { return layout_; }        // 0 -> struct pw_meta_layout

 private:
  struct Free {
    void operator()(btf* b) const { btf__free(b); }
  };
  std::unique_ptr<btf, Free> btf_;
  bool loaded_ = false;
  MetaTypes sets_, frontends_, tc_, program_, layout_;
};

}  // namespace portway::dataplane::xdp
