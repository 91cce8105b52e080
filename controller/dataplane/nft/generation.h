// The nf_tables ruleset generation (NFT_MSG_GETGEN): a counter the kernel bumps on every
// committed transaction, by anyone, in this network namespace. If it still equals the value
// read right after portway's own last commit, nobody changed any ruleset since, and the
// in-memory view of what portway installed is exact; otherwise apply() reads the table back
// and repairs (the drift check costs one netlink round trip, not a ruleset dump).
#pragma once

#include <cstdint>

struct mnl_socket;

namespace portway::dataplane::nft {

class GenerationReader {
 public:
  GenerationReader();  // NETLINK_NETFILTER socket in the current network namespace
  ~GenerationReader();
  GenerationReader(const GenerationReader&) = delete;
  GenerationReader& operator=(const GenerationReader&) = delete;

  std::uint32_t read();  // throws std::system_error

 private:
  mnl_socket* sock_;
  std::uint32_t seq_ = 0;
};

}  // namespace portway::dataplane::nft
