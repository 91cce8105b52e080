// What `portway status` prints: the JSON of status_json + add_generations as a summary an
// operator reads, ages instead of epoch times (docs/operations.md "Reading a node").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace portway::ops {

std::string status_text(const nlohmann::json& status, std::int64_t now_ms);

}  // namespace portway::ops
