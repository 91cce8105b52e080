// Reads table inet portway straight from nf_tables over netlink (libmnl): the table, its sets
// with every element and element counter, its chains and rule counts, its named counters.
// Element keys and data are decoded with the layouts of layout.h into the same text the
// element writer produces. Writing always goes through libnftables; this is only the fast
// read path (installed(), stats(), the full check).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dataplane/nft/readback.h"

struct mnl_socket;

namespace portway::dataplane::nft {

class TableReader {
 public:
  TableReader();  // NETLINK_NETFILTER socket in the current network namespace
  ~TableReader();
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  // What to read the elements of. Dumping a set costs the kernel a walk that restarts for
  // every ~32 KiB message (quadratic in the set's size: ~0.5 s for 100,000 elements), so
  // callers read only the sets they need.
  enum class Scope : std::uint8_t {
    none,   // structure only: sets, chains, rule counts, counters (cheap at any size)
    all,    // every set (the full check compares everything)
    state,  // what installed() needs to rebuild the DataplaneState
    stats,  // that plus the counter sets
  };

  bool table_exists();
  // A consistent snapshot: a dump that the kernel reports as interrupted by a concurrent
  // change is started again. Sets outside `scope` are listed without elements. Throws
  // std::system_error.
  ReadBack read(Scope scope = Scope::all);

  // Reads started again so far because a dump was interrupted.
  std::size_t interrupted_reads() const { return interrupted_reads_; }

 private:
  mnl_socket* sock_;
  unsigned port_;
  unsigned seq_ = 0;
  std::size_t interrupted_reads_ = 0;
};

}  // namespace portway::dataplane::nft
