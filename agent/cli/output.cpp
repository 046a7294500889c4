#include "agent/cli/output.hpp"

#include <json/writer.h>

#include <iostream>

#include "agent/cli/exit_codes.hpp"

namespace cvm::cli {

int exit_code_for(Errc code) {
  switch (code) {
    case Errc::verification_failed: return kExitVerificationFailed;
    case Errc::invalid_argument: return kExitUsage;
    case Errc::invalid_data:
    case Errc::unsupported: return kExitInvalidInput;
    default: return kExitEnvironment;
  }
}

void print_json(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "  ";
  builder["emitUTF8"] = true;
  std::cout << Json::writeString(builder, value) << "\n";
}

Json::Value error_json(const Error& error) {
  Json::Value body(Json::objectValue);
  body["code"] = std::string(errc_name(error.code));
  body["message"] = error.to_string();
  if (error.field) {
    body["field"] = *error.field;
  }
  if (error.offset) {
    body["offset"] = static_cast<Json::UInt64>(*error.offset);
  }
  Json::Value root(Json::objectValue);
  root["error"] = body;
  return root;
}

int report_error(const Error& error, bool json) {
  if (json) {
    print_json(error_json(error));
  } else {
    std::cerr << "cvm-attest: " << error.to_string() << "\n";
  }
  return exit_code_for(error.code);
}

}  // namespace cvm::cli
