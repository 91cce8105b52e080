#include "dataplane/conntrack/flow_match.h"

#include <algorithm>

namespace portway::dataplane::conntrack {

bool FlowMatch::matches(const FlowTuple& t) const {
  return t.dnat && t.protocol == protocol && (!original_dst || *original_dst == t.original_dst) &&
         (!original_dport || *original_dport == t.original_dport) && (!reply_src || *reply_src == t.reply_src) &&
         (!reply_sport || *reply_sport == t.reply_sport);
}

bool matches_any(std::span<const FlowMatch> ms, const FlowTuple& t) {
  return std::any_of(ms.begin(), ms.end(), [&](const FlowMatch& m) { return m.matches(t); });
}

}  // namespace portway::dataplane::conntrack
