// Keeps the compiled state of a store up to date as the store changes: after reset(), each
// catch_up() brings the compiled state to the store's current generation and returns the
// difference, which a dataplane programs with apply_changes(). A change of one sandbox costs
// the Services it touches, not a recompile of the node (docs/model.md "Incremental compile").
//
// catch_up() reads in one read transaction, so the state it returns is one consistent store
// state; when the store cannot say what changed since generation() (a journal that no longer
// reaches back that far, another store), it compiles everything and diffs, with the same
// result. Either way state() equals compile(read_snapshot()) of that transaction.
#pragma once

#include <cstdint>
#include <memory>

#include "state/dataplane_state.h"
#include "state/diff.h"
#include "store/store.h"

namespace portway::state {

class IncrementalCompiler {
 public:
  IncrementalCompiler();
  ~IncrementalCompiler();
  IncrementalCompiler(IncrementalCompiler&&) noexcept;
  IncrementalCompiler& operator=(IncrementalCompiler&&) noexcept;

  // Compiles the whole store (throws store::StoreError and friends; then nothing changed).
  const DataplaneState& reset(store::Store& store);

  // The difference from state() to the store now; empty when the generation is unchanged.
  // Throws like reset(); state() and generation() are then unchanged.
  StateDiff catch_up(store::Store& store);

  const DataplaneState& state() const { return state_; }
  std::uint64_t generation() const { return generation_; }

  // How the last catch_up() found its answer: from the journal (the Services it touched
  // recompiled), or by compiling everything. For status, logs and tests.
  enum class Path { none, journal, full };
  Path last_path() const { return last_path_; }
  std::size_t last_services_recompiled() const { return last_services_recompiled_; }

 private:
  struct Index;  // incremental_compile.cc: what the next change needs of the last one

  StateDiff compile_all(store::Transaction& tx);

  DataplaneState state_;
  std::uint64_t generation_ = 0;
  std::unique_ptr<Index> index_;  // null until reset(), and after a failure midway
  Path last_path_ = Path::none;
  std::size_t last_services_recompiled_ = 0;
};

}  // namespace portway::state
