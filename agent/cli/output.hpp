// Printing results and errors as text or JSON.
#pragma once

#include <json/value.h>

#include <string>

#include "common/error.hpp"

namespace cvm::cli {

// Writes compact-but-readable JSON (two-space indent) and a newline to stdout.
void print_json(const Json::Value& value);

// Reports an error on stderr (text) or stdout (JSON) and returns its exit status.
int report_error(const Error& error, bool json);

[[nodiscard]] Json::Value error_json(const Error& error);

}  // namespace cvm::cli
