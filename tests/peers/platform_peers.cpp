#include "tests/peers/platform_peers.hpp"

#include <json/value.h>
#include <json/writer.h>

#include "common/openssl.hpp"
#include "snp/kds.hpp"

namespace cvm::peers {
namespace {

std::string json_text(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

Response error_response(int status, const std::string& code, const std::string& message) {
  Json::Value body(Json::objectValue);
  body["error"]["code"] = code;
  body["error"]["message"] = message;
  return Response{.status = status, .body = json_text(body)};
}

std::string product_path(snp::Product product) { return std::string(snp::product_name(product)); }

}  // namespace

Handler ImdsPeer::handler() {
  return faults_.wrap([this](const Request& request) { return serve(request); });
}

int ImdsPeer::requests(const std::string& path_prefix) const {
  if (path_prefix.starts_with("/metadata/THIM")) return thim_requests_.load();
  if (path_prefix.starts_with("/metadata/identity")) return token_requests_.load();
  return 0;
}

Response ImdsPeer::serve(const Request& request) {
  if (request.header("metadata") != "true") {
    return error_response(400, "BadRequest", "Required metadata header not specified");
  }
  if (request.path == "/metadata/THIM/amd/certification") {
    ++thim_requests_;
    Json::Value body(Json::objectValue);
    body["vcekCert"] = identity_.vcek_pem;
    body["certificateChain"] = identity_.chain_pem;
    body["tcbm"] = snp::tcb_hex(identity_.reported_tcb.raw);
    body["cacheControl"] = "86400";
    return Response{.body = json_text(body)};
  }
  if (request.path == "/metadata/identity/oauth2/token") {
    ++token_requests_;
    std::string resource = request.query_value("resource");
    if (resource.empty()) {
      return error_response(400, "invalid_request", "resource is required");
    }
    Json::Value body(Json::objectValue);
    body["access_token"] = "test-access-token-for-" + resource + "-" + request.query_value("client_id");
    body["token_type"] = "Bearer";
    body["expires_in"] = "3600";
    body["resource"] = resource;
    return Response{.body = json_text(body)};
  }
  if (request.path == "/metadata/instance/compute/location") {
    return Response{.body = identity_.region, .content_type = "text/plain"};
  }
  return error_response(404, "NotFound", "no such metadata path " + request.path);
}

Handler KdsPeer::handler() {
  return faults_.wrap([this](const Request& request) { return serve(request); });
}

Response KdsPeer::serve(const Request& request) {
  std::string prefix = "/vcek/v1/" + product_path(identity_.product) + "/";
  std::string vlek_prefix = "/vlek/v1/" + product_path(identity_.product) + "/";
  if (request.path == prefix + "cert_chain" || request.path == vlek_prefix + "cert_chain") {
    return Response{.body = identity_.chain_pem, .content_type = "application/x-pem-file"};
  }
  if (!request.path.starts_with(prefix)) {
    return Response{.status = 404, .body = "Not Found", .content_type = "text/plain"};
  }
  ++vcek_requests_;
  std::string hwid = request.path.substr(prefix.size());
  std::size_t hwid_size = identity_.product == snp::Product::turin ? 16 : 128;
  const snp::Tcb& tcb = identity_.reported_tcb;
  auto spl_matches = [&](const char* name, std::uint8_t value) {
    std::string given = request.query_value(name);
    return !given.empty() && std::stoi(given) == value;
  };
  bool matches = hwid == identity_.chip_id_hex.substr(0, hwid_size) && spl_matches("blSPL", tcb.bootloader) &&
                 spl_matches("teeSPL", tcb.tee) && spl_matches("snpSPL", tcb.snp) &&
                 spl_matches("ucodeSPL", tcb.microcode);
  if (!matches) {
    return Response{.status = 404, .body = "Not Found", .content_type = "text/plain"};
  }
  auto certificates = ossl::parse_certificates(as_bytes(identity_.vcek_pem), "vcek");
  if (!certificates || certificates->empty()) {
    return Response{.status = 500};
  }
  Bytes der = ossl::certificate_der(certificates->front().get());
  return Response{.body = std::string(as_text(der)), .content_type = "application/pkix-cert"};
}

}  // namespace cvm::peers
