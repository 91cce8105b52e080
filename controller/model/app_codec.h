// The resolved App as the store keeps it (AppRecord::parsed_json): the JSON of
// config::to_json, read back strictly. Stored so a reconcile pass can re-derive an app's
// Services without re-parsing its text under possibly different node settings.
#pragma once

#include <string>
#include <string_view>

#include "config/app_model.h"

namespace portway::model {

std::string encode_app(const config::App& app);
// Throws store::StoreError when the text is not what encode_app writes.
config::App decode_app(std::string_view json);

}  // namespace portway::model
