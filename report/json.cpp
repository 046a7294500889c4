#include "report/json.hpp"

#include <json/reader.h>

#include <memory>
#include <string>

namespace cvm::report {
namespace {

// Nesting deeper than this is in no document these readers handle; jsoncpp
// recurses once per level.
constexpr int kMaxJsonDepth = 64;

}  // namespace

Result<Json::Value> parse_json_object(ByteView data, std::string_view document_name) {
  Json::CharReaderBuilder builder;
  builder["collectComments"] = false;
  builder["allowComments"] = false;
  builder["strictRoot"] = true;
  builder["allowSingleQuotes"] = false;
  builder["failIfExtra"] = true;
  builder["rejectDupKeys"] = true;
  builder["allowSpecialFloats"] = false;
  builder["stackLimit"] = kMaxJsonDepth;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());

  Json::Value root;
  std::string errors;
  const char* begin = reinterpret_cast<const char*>(data.data());
  bool parsed = false;
  try {
    parsed = reader->parse(begin, begin + data.size(), &root, &errors);
  } catch (const Json::Exception& exception) {
    // jsoncpp throws, rather than returning false, when the nesting limit is hit.
    errors = exception.what();
  }
  if (!parsed) {
    while (!errors.empty() && (errors.back() == '\n' || errors.back() == ' ')) {
      errors.pop_back();
    }
    return fail(Errc::invalid_data, std::string(document_name) + " is not valid JSON: " + errors);
  }
  if (!root.isObject()) {
    return fail(Errc::invalid_data, std::string(document_name) + " is not a JSON object");
  }
  return root;
}

}  // namespace cvm::report
