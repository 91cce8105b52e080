// The JSON shapes of docs/cli.md for the config layer (`portway validate --json`).
#pragma once

#include <nlohmann/json.hpp>

#include "config/app_model.h"
#include "config/diagnostic.h"

namespace portway::config {

nlohmann::json to_json(const Port& port);
nlohmann::json to_json(const Service& service);
nlohmann::json to_json(const App& app);
nlohmann::json to_json(const Diagnostic& diagnostic);  // {line, col, path, message}

}  // namespace portway::config
