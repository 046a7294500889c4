#include "common/json.hpp"

#include <json/reader.h>

#include <memory>

namespace cvm {
namespace {

// Nesting deeper than this is in no document the agent reads; jsoncpp
// recurses once per level.
constexpr int kMaxJsonDepth = 64;

}  // namespace

Result<Json::Value> parse_json(std::string_view text, std::string_view document_name) {
  Json::CharReaderBuilder builder;
  builder["collectComments"] = false;
  builder["allowComments"] = false;
  builder["allowSingleQuotes"] = false;
  builder["failIfExtra"] = true;
  builder["rejectDupKeys"] = true;
  builder["allowSpecialFloats"] = false;
  builder["stackLimit"] = kMaxJsonDepth;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());

  Json::Value root;
  std::string errors;
  bool parsed = false;
  try {
    parsed = reader->parse(text.data(), text.data() + text.size(), &root, &errors);
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
  return root;
}

Result<Json::Value> parse_json_object(std::string_view text, std::string_view document_name) {
  Json::Value root = CVM_TRY(parse_json(text, document_name));
  if (!root.isObject()) {
    return fail(Errc::invalid_data, std::string(document_name) + " is not a JSON object");
  }
  return root;
}

}  // namespace cvm
