// Rows printed as aligned columns (two spaces apart), the first row a header: how `dump` and
// `stats` print lists an operator scans, like ipvsadm and cilium-dbg do.
#pragma once

#include <string>
#include <vector>

namespace portway::ops {

using TextRow = std::vector<std::string>;

// The last column is not padded. Rows may be shorter than the header.
std::string table_text(const std::vector<TextRow>& rows);

}  // namespace portway::ops
