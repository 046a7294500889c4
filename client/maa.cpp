#include "client/maa.hpp"

#include <openssl/evp.h>

#include "client/jwt.hpp"

namespace cvm::client {
namespace {

constexpr std::string_view kTransportKeyAad = "Transport Key";

Result<Bytes> base64_field(const Json::Value& object, const char* name) {
  if (!object[name].isString()) {
    return fail(Error{.code = Errc::invalid_data,
                      .message = std::string("encrypted token has no string field ") + name,
                      .field = name});
  }
  auto decoded = base64_decode(object[name].asString());
  if (!decoded) {
    return fail(Error{.code = Errc::invalid_data,
                      .message = std::string("encrypted token field ") + name + " is not base64",
                      .field = name});
  }
  return decoded;
}

Result<void> expect_param(const Json::Value& params, const char* name, std::string_view expected) {
  if (!params[name].isString() || params[name].asString() != expected) {
    std::string got = params[name].isString() ? params[name].asString() : "(missing)";
    return fail(Error{.code = Errc::unsupported,
                      .message = std::string("encrypted token uses ") + name + " '" + got + "', expected '" +
                                 std::string(expected) + "'",
                      .field = name});
  }
  return {};
}

// Replaces path and query of `endpoint` with `path`.
Result<std::string> with_path(std::string_view endpoint, std::string_view path) {
  std::size_t scheme_end = endpoint.find("://");
  if (scheme_end == std::string_view::npos || endpoint.size() == scheme_end + 3) {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "attestation endpoint '" + std::string(endpoint) + "' is not a URL",
                      .hint = "use the form https://NAME.REGION.attest.azure.net"});
  }
  std::size_t authority_end = endpoint.find_first_of("/?#", scheme_end + 3);
  return std::string(endpoint.substr(0, authority_end)) + std::string(path);
}

}  // namespace

std::string_view protocol_name(Protocol protocol) {
  return protocol == Protocol::azure_guest ? "azure-guest" : "sevsnpvm";
}

Result<Protocol> parse_protocol(std::string_view name) {
  if (name == "azure-guest") return Protocol::azure_guest;
  if (name == "sevsnpvm") return Protocol::sev_snp_vm;
  return fail(Error{.code = Errc::invalid_argument,
                    .message = "unknown attestation protocol '" + std::string(name) + "'",
                    .hint = "use azure-guest or sevsnpvm"});
}

Result<std::string> attestation_url(std::string_view endpoint, Protocol protocol) {
  return with_path(endpoint, protocol == Protocol::azure_guest ? "/attest/AzureGuest?api-version=2020-10-01"
                                                               : "/attest/SevSnpVm?api-version=2022-08-01");
}

Result<std::string> parse_token_response(std::string_view body) {
  Json::Value root = CVM_TRY(parse_json(body, "the attestation response"));
  if (!root.isObject() || !root["token"].isString() || root["token"].asString().empty()) {
    return fail(Errc::invalid_data, "attestation response has no \"token\" string");
  }
  return root["token"].asString();
}

Result<EncryptedToken> parse_encrypted_token(std::string_view token) {
  auto decoded = base64_decode(token);
  if (!decoded) {
    return fail(Errc::invalid_data, "AzureGuest token is not base64url-encoded JSON");
  }
  Json::Value root = CVM_TRY(parse_json(as_text(*decoded), "the AzureGuest token"));
  if (!root.isObject() || !root["EncryptionParams"].isObject()) {
    return fail(Errc::invalid_data, "AzureGuest token has no EncryptionParams object");
  }
  const Json::Value& params = root["EncryptionParams"];
  CVM_TRY(expect_param(params, "BlockMode", "ChainingModeGCM"));
  CVM_TRY(expect_param(params, "Cipher", "AES"));
  EncryptedToken out;
  out.encrypted_inner_key = CVM_TRY(base64_field(root, "EncryptedInnerKey"));
  out.iv = CVM_TRY(base64_field(params, "Iv"));
  out.tag = CVM_TRY(base64_field(root, "AuthenticationData"));
  out.ciphertext = CVM_TRY(base64_field(root, "Jwt"));
  if (params["KeySizeInBits"].isIntegral()) {
    out.key_size_bits = params["KeySizeInBits"].asInt();
  }
  if (out.iv.empty() || out.tag.empty() || out.tag.size() > 16) {
    return fail(Errc::invalid_data, "AzureGuest token has an empty IV or a tag that is not 1 to 16 bytes");
  }
  return out;
}

Result<std::string> decrypt_token(const EncryptedToken& token, const KeyUnwrapper& unwrap) {
  Bytes key = CVM_TRY(unwrap(token.encrypted_inner_key));
  const EVP_CIPHER* cipher = key.size() == 16   ? EVP_aes_128_gcm()
                             : key.size() == 24 ? EVP_aes_192_gcm()
                             : key.size() == 32 ? EVP_aes_256_gcm()
                                                : nullptr;
  if (cipher == nullptr) {
    return fail(Errc::invalid_data, "decrypted inner key is " + std::to_string(key.size()) +
                                        " bytes; AES needs 16, 24 or 32");
  }
  if (token.key_size_bits != 0 && static_cast<std::size_t>(token.key_size_bits) != key.size() * 8) {
    return fail(Errc::invalid_data, "KeySizeInBits is " + std::to_string(token.key_size_bits) +
                                        " but the decrypted key has " + std::to_string(key.size() * 8) + " bits");
  }
  ossl::UniqueCipherCtx context(EVP_CIPHER_CTX_new());
  std::string plain(token.ciphertext.size(), '\0');
  int length = 0;
  int final_length = 0;
  bool ok = context && EVP_DecryptInit_ex(context.get(), cipher, nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(token.iv.size()), nullptr) == 1 &&
            EVP_DecryptInit_ex(context.get(), nullptr, nullptr, key.data(), token.iv.data()) == 1 &&
            EVP_DecryptUpdate(context.get(), nullptr, &length,
                              reinterpret_cast<const unsigned char*>(kTransportKeyAad.data()),
                              static_cast<int>(kTransportKeyAad.size())) == 1 &&
            EVP_DecryptUpdate(context.get(), reinterpret_cast<unsigned char*>(plain.data()), &length,
                              token.ciphertext.data(), static_cast<int>(token.ciphertext.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(context.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(token.tag.size()),
                                const_cast<std::uint8_t*>(token.tag.data())) == 1;
  OPENSSL_cleanse(key.data(), key.size());
  if (!ok) {
    return fail(ossl::openssl_error(Errc::internal, "cannot set up AES-GCM decryption"));
  }
  if (EVP_DecryptFinal_ex(context.get(), reinterpret_cast<unsigned char*>(plain.data()) + length, &final_length) != 1) {
    return fail(ossl::openssl_error(Errc::verification_failed,
                                    "AES-GCM authentication of the AzureGuest token failed"));
  }
  plain.resize(static_cast<std::size_t>(length + final_length));
  return plain;
}

Error service_error(const HttpRequest& request, const HttpResponse& response) {
  Error error = http_status_error(request, response);
  auto parsed = parse_json(response.body, "the error response");
  if (parsed && parsed->isObject()) {
    const Json::Value& lower = (*parsed)["error"];
    const Json::Value& upper = (*parsed)["Error"];
    const Json::Value& body = lower.isObject() ? lower : upper;
    if (body.isObject()) {
      const Json::Value& code = body.isMember("code") ? body["code"] : body["Code"];
      const Json::Value& message = body.isMember("message") ? body["message"] : body["Message"];
      std::string service_code = code.isString() ? code.asString() : "";
      std::string service_message = message.isString() ? message.asString() : "";
      error.cause.text = service_code + (service_code.empty() ? "" : ": ") + service_message;
    }
  }
  if (response.status == 400) {
    error.code = Errc::verification_failed;
    error.hint = "the service rejected the evidence or its policy failed; run 'cvm-attest verify' on the evidence";
  }
  return error;
}

Result<std::string> post_evidence(const AttestOptions& options, std::string body) {
  HttpRequest request;
  request.method = "POST";
  request.url = CVM_TRY(attestation_url(options.endpoint, options.protocol));
  request.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  request.body = std::move(body);
  HttpResponse response = CVM_TRY(perform_with_retry(request, options.http, options.retry, options.retry_context));
  if (response.status != 200) {
    return fail(service_error(request, response));
  }
  return parse_token_response(response.body);
}

}  // namespace cvm::client
