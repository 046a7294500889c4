#include "report/json.hpp"

#include "common/json.hpp"

#include <json/reader.h>

#include <memory>
#include <string>

namespace cvm::report {

Result<Json::Value> parse_json_object(ByteView data, std::string_view document_name) {
  return cvm::parse_json_object(as_text(data), document_name);
}

}  // namespace cvm::report
