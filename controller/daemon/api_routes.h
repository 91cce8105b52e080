// The local API's requests and answers, apart from any socket (docs/api.md): a method, a path
// and a body in, a status and a JSON body out. Writes go to the store through the same
// functions the CLI uses (ops/), so the API and `--json` print the same objects; the daemon
// picks every committed change up by itself, so a write here only commits.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node_settings.h"
#include "daemon/daemon_status.h"
#include "dataplane/dataplane.h"

namespace portway::daemon {

struct ApiRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded, without the query
  std::string body;
};

struct ApiResponse {
  int status = 200;
  nlohmann::json body;
  std::string allow;  // for 405: the methods the path takes ("GET", "POST, DELETE")
};

// {"errors":[{"line","col","path","message"}]}: the error objects of `validate --json`;
// line and col are 0 for errors that are not in an app.toml text.
ApiResponse error_response(int status, const std::vector<std::string>& messages);

struct ApiContext {
  std::string state_path;        // the state database
  config::NodeSettings node;     // pools, reserved ports and service ranges for apply; status
  std::function<DaemonStatus()> status;
  std::function<dataplane::Stats()> stats;
};

// Every route of docs/api.md; unknown paths 404, a known path with another method 405,
// malformed or mistyped bodies 400. Never throws: store failures are 503, anything else 500.
ApiResponse handle_api_request(const ApiContext& context, const ApiRequest& request);

}  // namespace portway::daemon
