// Strict JSON parsing with jsoncpp, safe on hostile input.
#pragma once

#include <json/value.h>

#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm {

// Parses exactly one JSON value. Comments, trailing content, duplicate keys
// (two parsers could disagree on their value) and nesting deeper than 64
// levels are rejected. Errors are Errc::invalid_data whose message starts
// with `document_name`.
[[nodiscard]] Result<Json::Value> parse_json(std::string_view text, std::string_view document_name);

// The same, requiring a JSON object.
[[nodiscard]] Result<Json::Value> parse_json_object(std::string_view text, std::string_view document_name);

}  // namespace cvm
