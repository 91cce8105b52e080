// Keeps the compiled state of a store up to date as the store changes: after reset(), each
// catch_up() brings the compiled state to the store's current generation and returns the
// difference, which a dataplane programs with apply_changes(). A change of one sandbox costs
// the Services it touches, not a recompile of the node.
//
// catch_up() reads in one read transaction, so the state it returns is one consistent store
// state; when the store cannot say what changed since generation() (a journal that no longer
// reaches back that far, another store), it compiles everything and diffs, with the same
// result.
#pragma once

#include <cstdint>

#include "state/dataplane_state.h"
#include "state/diff.h"
#include "store/store.h"

namespace portway::state {

class IncrementalCompiler {
 public:
  // Compiles the whole store (throws store::StoreError and friends; then nothing changed).
  const DataplaneState& reset(store::Store& store);

  // The difference from state() to the store now; empty when the generation is unchanged.
  // Throws like reset(); state() and generation() are then unchanged.
  StateDiff catch_up(store::Store& store);

  const DataplaneState& state() const { return state_; }
  std::uint64_t generation() const { return generation_; }

 private:
  DataplaneState state_;
  std::uint64_t generation_ = 0;
};

}  // namespace portway::state
