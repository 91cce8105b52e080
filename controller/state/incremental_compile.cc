#include "state/incremental_compile.h"

#include "state/compile.h"

namespace portway::state {

const DataplaneState& IncrementalCompiler::reset(store::Store& store) {
  auto tx = store.begin_read();
  const Snapshot snapshot = read_snapshot(*tx);
  state_ = compile(snapshot);
  generation_ = snapshot.generation;
  return state_;
}

StateDiff IncrementalCompiler::catch_up(store::Store& store) {
  auto tx = store.begin_read();
  if (tx->generation() == generation_) return {};
  const Snapshot snapshot = read_snapshot(*tx);
  DataplaneState next = compile(snapshot);
  StateDiff d = diff(state_, next);
  state_ = std::move(next);
  generation_ = snapshot.generation;
  return d;
}

}  // namespace portway::state
