#include "dataplane/dataplane.h"

namespace portway::dataplane {

std::string_view to_string(Kind k) { return k == Kind::xdp ? "xdp" : "nft"; }

}  // namespace portway::dataplane
