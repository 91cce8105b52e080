// Keeps an fd of every map and program pinned in the fast path's pin folder, so that a pin
// deleted by hand is put back from the object itself. BPF_OBJ_PIN needs only write access to
// the folder; finding the object again by its id (BPF_*_GET_FD_BY_ID) needs CAP_SYS_ADMIN,
// which the daemon does not keep (docs/operations.md "Privileges"). It matters most for the
// metadata maps, which no program uses: without a held fd a deleted pin takes them with it.
//
// Links are not kept: holding a link's fd would keep it attached after portway itself unpins
// it to detach (a former uplink), and a link whose pin is deleted is re-created anyway.
// Held objects stay in the kernel while held: whoever removes the fast path forgets first.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dataplane/xdp/pin_layout.h"
#include "loader/unique_fd.h"

namespace portway::dataplane::xdp {

class PinKeeper {
 public:
  // Holds the object behind every pin now under maps/ and progs/ (replacing what was held
  // for a path whose pin now names another object). Entries of pins that are missing now are
  // kept: restore_missing() puts them back.
  void hold_all(const PinLayout& pins);

  // Re-pins each held object whose pin is missing; one note per pin put back. When every
  // held pin is gone (the fast path was removed), forgets them instead.
  std::vector<std::string> restore_missing();

  // Releases every held fd (before the fast path is removed, so nothing outlives it).
  void forget() { held_.clear(); }

  std::size_t size() const { return held_.size(); }

 private:
  std::map<std::string, loader::UniqueFd> held_;  // pin path -> the object
};

}  // namespace portway::dataplane::xdp
