// `portway daemon --log-format json`: one JSON object a line on stderr,
// {"time":"2026-12-04T23:59:59.123Z","level":"info","msg":"..."}, for log collectors that
// parse structured lines. The message is escaped as JSON (spdlog's patterns would not).
#pragma once

#include <memory>

#include <spdlog/logger.h>

namespace portway::daemon {

std::shared_ptr<spdlog::logger> make_json_stderr_logger(const std::string& name);

}  // namespace portway::daemon
