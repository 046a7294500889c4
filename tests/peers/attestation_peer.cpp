#include "tests/peers/attestation_peer.hpp"

#include <json/reader.h>
#include <json/writer.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <memory>

#include "common/bytes.hpp"
#include "tests/support/jws.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::peers {
namespace {

Response maa_error(int status, const std::string& code, const std::string& message) {
  Json::Value body(Json::objectValue);
  body["error"]["code"] = code;
  body["error"]["message"] = message;
  return Response{.status = status, .body = cvm::testing::compact_json(body)};
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

Result<std::string> encrypt_for_azure_guest(const std::string& jwt, EVP_PKEY* ephemeral_key) {
  Bytes key(32);
  Bytes iv(12);
  if (RAND_bytes(key.data(), 32) != 1 || RAND_bytes(iv.data(), 12) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "RAND_bytes failed"));
  }
  ossl::UniquePkeyCtx rsa(EVP_PKEY_CTX_new(ephemeral_key, nullptr));
  std::size_t wrapped_size = 0;
  if (!rsa || EVP_PKEY_encrypt_init(rsa.get()) != 1 ||
      EVP_PKEY_CTX_set_rsa_padding(rsa.get(), RSA_PKCS1_PADDING) != 1 ||
      EVP_PKEY_encrypt(rsa.get(), nullptr, &wrapped_size, key.data(), key.size()) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot encrypt to the ephemeral key"));
  }
  Bytes wrapped(wrapped_size);
  if (EVP_PKEY_encrypt(rsa.get(), wrapped.data(), &wrapped_size, key.data(), key.size()) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot encrypt to the ephemeral key"));
  }
  wrapped.resize(wrapped_size);

  ossl::UniqueCipherCtx aes(EVP_CIPHER_CTX_new());
  Bytes ciphertext(jwt.size() + 16);
  Bytes tag(16);
  int length = 0;
  int final_length = 0;
  static constexpr char kAad[] = "Transport Key";
  if (!aes || EVP_EncryptInit_ex(aes.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(aes.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr) != 1 ||
      EVP_EncryptInit_ex(aes.get(), nullptr, nullptr, key.data(), iv.data()) != 1 ||
      EVP_EncryptUpdate(aes.get(), nullptr, &length, reinterpret_cast<const unsigned char*>(kAad), 13) != 1 ||
      EVP_EncryptUpdate(aes.get(), ciphertext.data(), &length, as_bytes(jwt).data(), static_cast<int>(jwt.size())) != 1 ||
      EVP_EncryptFinal_ex(aes.get(), ciphertext.data() + length, &final_length) != 1 ||
      EVP_CIPHER_CTX_ctrl(aes.get(), EVP_CTRL_GCM_GET_TAG, 16, tag.data()) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "AES-GCM encryption failed"));
  }
  ciphertext.resize(static_cast<std::size_t>(length + final_length));
  OPENSSL_cleanse(key.data(), key.size());

  Json::Value inner(Json::objectValue);
  inner["EncryptedInnerKey"] = base64_encode(wrapped);
  inner["AuthenticationData"] = base64_encode(tag);
  inner["Jwt"] = base64_encode(ciphertext);
  inner["EncryptionParams"]["BlockMode"] = "ChainingModeGCM";
  inner["EncryptionParams"]["BlockPadding"] = "PKCS7";
  inner["EncryptionParams"]["Cipher"] = "AES";
  inner["EncryptionParams"]["KeySizeInBits"] = 256;
  inner["EncryptionParams"]["Iv"] = base64_encode(iv);
  return base64url_encode(as_bytes(cvm::testing::compact_json(inner)));
}

AttestationPeer::AttestationPeer(EvidenceVerifier azure_guest, EvidenceVerifier sev_snp_vm)
    : verify_azure_guest_(std::move(azure_guest)), verify_sev_snp_vm_(std::move(sev_snp_vm)) {
  signing_key_ = std::move(*cvm::testing::generate_rsa_key(2048));
  stranger_key_ = std::move(*cvm::testing::generate_rsa_key(2048));
  signing_certificate_ = std::move(*cvm::testing::self_signed_certificate(signing_key_.get(), "cvm-attest test attestation service"));
  kid_ = ossl::certificate_fingerprint(signing_certificate_.get()).substr(0, 32);
}

void AttestationPeer::set_issuer(std::string issuer) {
  std::lock_guard lock(mutex_);
  issuer_ = std::move(issuer);
}

void AttestationPeer::set_token_fault(TokenFault fault, int count, std::chrono::seconds skew) {
  std::lock_guard lock(mutex_);
  token_fault_ = fault;
  token_fault_count_ = count;
  token_fault_skew_ = skew;
}

Handler AttestationPeer::handler() {
  return faults_.wrap([this](const Request& request) { return serve(request); });
}

Response AttestationPeer::serve(const Request& request) {
  if (request.path == "/certs" && request.method == "GET") return jwks();
  if (request.path == "/.well-known/openid-configuration" && request.method == "GET") return openid_configuration();
  if (request.path == "/control/token") return control(request);
  if (request.path == "/attest/AzureGuest" && request.method == "POST") return attest(request, true);
  if (request.path == "/attest/SevSnpVm" && request.method == "POST") return attest(request, false);
  return maa_error(404, "NotFound", "no route for " + request.method + " " + request.path);
}

Response AttestationPeer::control(const Request& request) {
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value body;
  std::string errors;
  if (request.method != "POST" ||
      !reader->parse(request.body.data(), request.body.data() + request.body.size(), &body, &errors) ||
      !body.isObject()) {
    return maa_error(400, "BadControl", "POST a JSON object");
  }
  if (body.isMember("lifetime_seconds")) {
    std::lock_guard lock(mutex_);
    lifetime_ = std::chrono::seconds(body["lifetime_seconds"].asInt64());
  }
  if (body.isMember("fault")) {
    std::string name = body["fault"].asString();
    TokenFault fault = name == "unknown_key"     ? TokenFault::unknown_key
                       : name == "expired"       ? TokenFault::expired
                       : name == "future_issued" ? TokenFault::future_issued
                                                 : TokenFault::none;
    set_token_fault(fault, body.get("count", 1).asInt(), std::chrono::seconds(body.get("skew_seconds", 600).asInt64()));
  }
  return Response{.status = 204};
}

Result<std::string> AttestationPeer::issue(Json::Value claims) {
  std::lock_guard lock(mutex_);
  std::int64_t now = unix_now();
  std::int64_t lifetime = lifetime_.count();
  TokenFault fault = token_fault_count_ > 0 ? token_fault_ : TokenFault::none;
  if (token_fault_count_ > 0) {
    --token_fault_count_;
  }
  std::int64_t issued = now;
  if (fault == TokenFault::expired) {
    issued = now - lifetime - token_fault_skew_.count();
  } else if (fault == TokenFault::future_issued) {
    issued = now + token_fault_skew_.count();
  }
  claims["iss"] = issuer_;
  claims["iat"] = static_cast<Json::Int64>(issued);
  claims["nbf"] = static_cast<Json::Int64>(issued);
  claims["exp"] = static_cast<Json::Int64>(issued + lifetime);
  claims["jti"] = hex_encode(ossl::sha256(as_bytes(std::to_string(now) + std::to_string(attestations_.load()))));
  claims["x-ms-ver"] = "1.0";
  EVP_PKEY* key = fault == TokenFault::unknown_key ? stranger_key_.get() : signing_key_.get();
  std::string kid = fault == TokenFault::unknown_key ? "unknown-" + kid_ : kid_;
  return cvm::testing::sign_rs256(claims, key, kid, issuer_ + "/certs");
}

Response AttestationPeer::attest(const Request& request, bool azure_guest) {
  ++attestations_;
  auto verified = azure_guest ? verify_azure_guest_(request.body) : verify_sev_snp_vm_(request.body);
  if (!verified) {
    return maa_error(400, "InvalidParameter", verified.error().to_string());
  }
  Json::Value claims(Json::objectValue);
  if (azure_guest) {
    claims["x-ms-attestation-type"] = "azurevm";
    claims["x-ms-azurevm-attestation-protocol-ver"] = "2.0";
    claims["x-ms-isolation-tee"] = verified->isolation_claims;
    claims["x-ms-isolation-tee"]["x-ms-attestation-type"] = "sevsnpvm";
    claims["x-ms-isolation-tee"]["x-ms-compliance-status"] = "azure-compliant-cvm";
    claims["x-ms-isolation-tee"]["x-ms-runtime"] = verified->runtime_claims;
    Json::Value runtime(Json::objectValue);
    runtime["client-payload"] = verified->client_payload;
    if (verified->ephemeral_key) {
      Json::Value key = cvm::testing::rsa_jwk(verified->ephemeral_key.get());
      key["kid"] = "TpmEphemeralEncryptionKey";
      key["key_ops"] = Json::Value(Json::arrayValue);
      key["key_ops"].append("encrypt");
      runtime["keys"] = Json::Value(Json::arrayValue);
      runtime["keys"].append(key);
    }
    claims["x-ms-runtime"] = runtime;
  } else {
    for (const auto& name : verified->isolation_claims.getMemberNames()) {
      claims[name] = verified->isolation_claims[name];
    }
    claims["x-ms-attestation-type"] = "sevsnpvm";
    claims["x-ms-compliance-status"] = "azure-compliant-cvm";
    claims["x-ms-runtime"] = verified->runtime_claims;
  }
  if (!verified->nonce.empty()) {
    claims["nonce"] = verified->nonce;
  }
  auto token = issue(std::move(claims));
  if (!token) {
    return maa_error(500, "InternalError", token.error().to_string());
  }
  std::string value = *token;
  if (azure_guest) {
    if (!verified->ephemeral_key) {
      return maa_error(400, "InvalidParameter", "AzureGuest evidence carries no ephemeral key");
    }
    auto encrypted = encrypt_for_azure_guest(*token, verified->ephemeral_key.get());
    if (!encrypted) {
      return maa_error(500, "InternalError", encrypted.error().to_string());
    }
    value = *encrypted;
  }
  Json::Value body(Json::objectValue);
  body["token"] = value;
  return Response{.body = cvm::testing::compact_json(body)};
}

Response AttestationPeer::jwks() const {
  Json::Value root(Json::objectValue);
  root["keys"] = Json::Value(Json::arrayValue);
  root["keys"].append(cvm::testing::jwks_entry(kid_, signing_certificate_.get()));
  return Response{.body = cvm::testing::compact_json(root), .content_type = "application/jwk+json"};
}

Response AttestationPeer::openid_configuration() const {
  std::string issuer;
  {
    std::lock_guard lock(mutex_);
    issuer = issuer_;
  }
  Json::Value body(Json::objectValue);
  body["issuer"] = issuer;
  body["jwks_uri"] = issuer + "/certs";
  body["id_token_signing_alg_values_supported"].append("RS256");
  body["response_types_supported"].append("token");
  body["claims_supported"].append("x-ms-isolation-tee");
  return Response{.body = cvm::testing::compact_json(body)};
}

}  // namespace cvm::peers
