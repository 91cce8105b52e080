#include "dataplane/nft/nft_context.h"

#include <nftables/libnftables.h>

#include <string_view>

namespace portway::dataplane::nft {
namespace {

// libnftables prints the offending input line under each error; with a transaction of
// thousands of elements that line can be megabytes. Keep the messages, cut long lines.
std::string trimmed_error(const char* raw) {
  std::string out;
  std::string_view rest = raw ? raw : "";
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    std::string_view l = rest.substr(0, nl);
    if (l.size() > 400) {
      out.append(l.substr(0, 400));
      out += " ...";
    } else {
      out.append(l);
    }
    out += '\n';
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.empty() ? "libnftables failed without a message" : out;
}

}  // namespace

NftContext::NftContext(bool dry_run) : ctx_(nft_ctx_new(NFT_CTX_DEFAULT)) {
  if (!ctx_) throw NftError("libnftables: cannot create a context");
  nft_ctx_buffer_output(ctx_);
  nft_ctx_buffer_error(ctx_);
  nft_ctx_set_dry_run(ctx_, dry_run);
}

NftContext::~NftContext() { nft_ctx_free(ctx_); }

void NftContext::run(const std::string& commands) {
  nft_ctx_output_set_flags(ctx_, 0);
  const int rc = nft_run_cmd_from_buffer(ctx_, commands.c_str());
  // Reading a buffer also empties it, so the next command starts clean.
  const std::string error = trimmed_error(nft_ctx_get_error_buffer(ctx_));
  nft_ctx_get_output_buffer(ctx_);
  if (rc != 0) throw NftError(error);
}

std::string NftContext::list_json(const std::string& command) {
  // Numbers stay numbers (no service names, no reverse DNS); element counters included.
  nft_ctx_output_set_flags(ctx_, NFT_CTX_OUTPUT_JSON);
  const int rc = nft_run_cmd_from_buffer(ctx_, command.c_str());
  nft_ctx_output_set_flags(ctx_, 0);
  const std::string error = trimmed_error(nft_ctx_get_error_buffer(ctx_));
  const char* out = nft_ctx_get_output_buffer(ctx_);
  if (rc != 0) throw NftError(error);
  return out ? out : "";
}

}  // namespace portway::dataplane::nft
