// The fast path as a Dataplane: portway_lb's XDP program on the uplinks, its tc program on the
// sandbox interfaces, maps programmed from the compiled state. Everything is pinned under the
// node's bpffs_dir, so attachments and flows outlive the process; a later run (or another
// process) reads the installed state back from the maps and changes only the difference.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/node_settings.h"
#include "dataplane/xdp/prefilter.h"
#include "dataplane/dataplane.h"
#include "dataplane/xdp/installed_view.h"
#include "dataplane/xdp/layout_upgrade.h"
#include "dataplane/xdp/lb_install.h"
#include "dataplane/xdp/meta_maps.h"
#include "dataplane/xdp/pin_keeper.h"
#include "dataplane/xdp/pin_layout.h"
#include "dataplane/xdp/uplink_delivery.h"
#include "state/touched_keys.h"

namespace portway::dataplane::xdp {

struct Attachment {
  std::string ifname;
  std::string hook;  // "xdp" or "tc-ingress"
  std::string mode;  // xdp: "native" | "generic"; tc: "clsact"
};

class XdpDataplane : public Dataplane {
 public:
  struct Options {
    bool allow_generic = true;  // native XDP first; generic (skb) mode if the driver refuses
  };

  explicit XdpDataplane(config::NodeSettings settings);
  XdpDataplane(config::NodeSettings settings, Options options);
  ~XdpDataplane() override;

  Kind kind() const override { return Kind::xdp; }
  const config::NodeSettings& settings() const { return settings_; }
  state::DataplaneState installed() override;
  ApplyReport apply(const state::DataplaneState& desired) override;
  // Programs a diff against the installed state directly, for a caller that knows what
  // changed (e.g. one sandbox drained): no O(size) diff of whole states, no attach checks
  // (apply() does those). The fast path must be installed; a diff that does not fit the
  // installed state throws std::invalid_argument before anything is written.
  void apply_changes(const state::StateDiff& d);
  // The same for a diff of desired states (both families). The fast path must be complete,
  // else this is apply(desired).
  ApplyReport apply_changes(const state::StateDiff& d, const state::DataplaneState& desired) override;
  // The check (docs/operations.md "Drift repair"): the reader reads every map (seconds at
  // 10,000 Services: the Maglev tables) with fds of its own and compares them with the view;
  // repair() checks pins and attachments now (cheap) and re-asserts the maps only where the
  // reading differed outside what this object programmed since. Counts pin_missing,
  // xdp_detached, tc_detached, sandbox_interface_attached and xdp_maps.
  std::unique_ptr<KernelReader> make_reader(const state::DataplaneState& desired) override;
  Repairs repair(const KernelReading* reading, const state::DataplaneState& desired) override;
  void remove_all() override;
  Stats stats() override;

  // apply() without attaching: loads (or upgrades) the programs, creates the maps and makes
  // them hold `desired`. A switch from nftables prepares the fast path completely, carries the
  // flows over, and only then attaches it.
  ApplyReport prepare(const state::DataplaneState& desired);

  // Loads (or upgrades) the programs and attaches them where the settings say, without
  // touching the maps' contents: sandbox interfaces, then `after_sandboxes`, then uplinks and
  // socket hooks. apply() does this after prepare(); `auto` uses it as the probe.
  void ensure_attached(std::vector<std::string>& notes, const std::function<void()>& after_sandboxes = {});

  // remove_all() in the order a switch to nftables needs, calling `after` once XDP is off the
  // uplinks and once tc is off the sandbox interfaces (the pins, and so the flow table, are
  // still there both times). `qdiscs`: whether the clsact qdiscs portway created go too (a
  // switch keeps them: uplink_delivery.h, CreatedQdiscs).
  enum class RemovalStep { uplinks_detached, sandboxes_detached };
  void remove_in_order(const std::function<void(RemovalStep)>& after,
                       CreatedQdiscs qdiscs = CreatedQdiscs::remove);

  std::vector<Attachment> attachments();
  // Anything of the fast path is pinned (it may be incomplete: a pin deleted by hand).
  bool is_installed() override;
  // Installed and attached to an uplink: a fast path that forwards.
  bool is_running() override;

 private:
  struct Open;  // pinned maps + metadata + view of an installed fast path
  Open& open_installed();
  LoadedPrograms ensure_loaded(std::vector<std::string>& notes);
  bool is_complete() const;  // every map pinned: installed() can read it back
  std::vector<unsigned> uplink_ifindexes() const;  // throws ENODEV for a missing uplink
  void detach_former_uplinks(std::vector<std::string>& notes);
  // Names the installed sets and frontends after `desired` (the metadata maps were lost);
  // returns how many frontends were named.
  std::size_t restore_names(const state::DataplaneState& desired);
  void attach_uplinks(const LoadedPrograms& progs, std::vector<std::string>& notes);
  // Once everything runs this build's programs: records PW_LAYOUT_VERSION in the pins.
  void record_layout(MetaMaps& meta, std::vector<std::string>& notes);
  void attach_sandbox_interfaces(const LoadedPrograms& progs, MetaMaps& meta,
                                 std::vector<std::string>& notes);
  void sync_node_addresses(loader::LbMaps& maps);  // both families
  void sync_node_addresses6(loader::LbMaps& maps);
  // Writes pw_prefilter from prefilter_input_ and the installed frontends when it differs.
  void sync_prefilter(loader::LbMaps& maps, const state::DataplaneState& installed);
  // Programs a diff against the installed view, then ends the node's sockets to removed
  // backends (socket_hooks.h).
  void program(const state::StateDiff& d, std::vector<std::string>& notes);

  config::NodeSettings settings_;
  // The node's part of the prefix filter, read with the node addresses (prepare); a diff
  // (program) only adds its frontends to it.
  std::optional<PrefilterInput> prefilter_input_;
  Options options_;
  PinLayout pins_;
  std::unique_ptr<Open> open_;
  PinKeeper keeper_;  // fds of the pinned maps and programs, to put back a deleted pin
  bool names_lost_ = false;  // ensure_loaded found the metadata pins missing
  CounterCarry carry_;  // an upgrade's resized counter maps, until every attachment is replaced
  ConnCarry conn_carry_;  // layout 4's connection maps, until every attachment is replaced
  std::uint32_t found_layout_ = 0;  // the pins' layout as ensure_loaded found it (0: none)
  Repairs* repairs_ = nullptr;  // set while repair() runs: the steps count what they fix
  std::unique_ptr<state::TouchedKeys> touched_;  // what program() changed since make_reader()
  void count(const char* kind, const std::string& note);
};

}  // namespace portway::dataplane::xdp
