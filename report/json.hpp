// Strict JSON parsing shared by the report library's readers.
#pragma once

#include <json/value.h>

#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::report {

// Parses `data` as exactly one JSON object. Comments, trailing content,
// duplicate keys (two parsers could disagree on their value) and nesting
// deeper than 64 levels are rejected. Errors are Errc::invalid_data whose
// message starts with `document_name`.
[[nodiscard]] Result<Json::Value> parse_json_object(ByteView data, std::string_view document_name);

}  // namespace cvm::report
