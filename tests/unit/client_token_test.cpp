// Tokens: JWT parsing and RS256 verification, JWKS refetch, AzureGuest
// decryption, service errors, and the MAA fixtures.
#include <gtest/gtest.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include <atomic>

#include "client/jwt.hpp"
#include "client/maa.hpp"
#include "client/region.hpp"
#include "client/token_verifier.hpp"
#include "tests/peers/http_server.hpp"
#include "tests/support/fixtures.hpp"
#include "tests/support/jws.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::client {
namespace {

using cvm::testing::sign_rs256;

ossl::UniquePkey& signing_key() {
  static ossl::UniquePkey key = std::move(*cvm::testing::generate_rsa_key(2048));
  return key;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(Clock::now().time_since_epoch()).count();
}

Json::Value claims(const std::string& issuer, std::int64_t exp_offset = 3600) {
  Json::Value payload(Json::objectValue);
  payload["iss"] = issuer;
  payload["iat"] = static_cast<Json::Int64>(now_seconds());
  payload["nbf"] = static_cast<Json::Int64>(now_seconds());
  payload["exp"] = static_cast<Json::Int64>(now_seconds() + exp_offset);
  payload["big"] = static_cast<Json::UInt64>(18446744073709551615ULL);
  return payload;
}

TEST(Jwt, SignedTokenVerifies) {
  std::string token = *sign_rs256(claims("https://maa.test"), signing_key().get(), "k1");
  auto parsed = parse_jwt(token);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
  EXPECT_EQ(parsed->algorithm(), "RS256");
  EXPECT_EQ(parsed->key_id(), "k1");
  EXPECT_EQ(parsed->payload["big"].asUInt64(), 18446744073709551615ULL);
  EXPECT_TRUE(verify_signature(*parsed, signing_key().get()).has_value());
  EXPECT_TRUE(check_claims(*parsed, ClaimPolicy{.issuer = "https://maa.test/"}).has_value());
}

TEST(Jwt, TamperedPayloadFails) {
  std::string token = *sign_rs256(claims("https://maa.test"), signing_key().get(), "k1");
  std::size_t dot = token.find('.');
  token[dot + 5] = token[dot + 5] == 'A' ? 'B' : 'A';
  auto parsed = parse_jwt(token);
  if (parsed) {
    auto verdict = verify_signature(*parsed, signing_key().get());
    ASSERT_FALSE(verdict.has_value());
    EXPECT_EQ(verdict.error().code, Errc::verification_failed);
  }
}

TEST(Jwt, OtherAlgorithmsAreRejected) {
  std::string token = *sign_rs256(claims("https://maa.test"), signing_key().get(), "k1");
  Json::Value header(Json::objectValue);
  header["alg"] = "none";
  std::string unsigned_token = base64url_encode(as_bytes(cvm::testing::compact_json(header))) +
                               token.substr(token.find('.'), token.rfind('.') - token.find('.')) + ".";
  auto parsed = parse_jwt(unsigned_token);
  ASSERT_TRUE(parsed.has_value());
  auto verdict = verify_signature(*parsed, signing_key().get());
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code, Errc::verification_failed);
}

TEST(Jwt, MalformedTokensAreInvalidData) {
  for (const char* text : {"", "a.b", "a.b.c.d", "!!!.e30.", "e30.bm90IGpzb24.", "W10.e30."}) {
    auto parsed = parse_jwt(text);
    ASSERT_FALSE(parsed.has_value()) << text;
    EXPECT_EQ(parsed.error().code, Errc::invalid_data) << text;
  }
}

TEST(Jwt, ClaimTimesWithSkew) {
  auto make = [](Json::Value payload) { return *parse_jwt(*sign_rs256(payload, signing_key().get(), "k1")); };
  Json::Value expired = claims("i", -120);
  auto expired_check = check_claims(make(expired), ClaimPolicy{});
  ASSERT_FALSE(expired_check.has_value());
  EXPECT_EQ(expired_check.error().code, Errc::verification_failed);

  Json::Value just_expired = claims("i", -30);
  EXPECT_TRUE(check_claims(make(just_expired), ClaimPolicy{}).has_value()) << "within the 60 s skew";
  EXPECT_FALSE(check_claims(make(just_expired), ClaimPolicy{.clock_skew = std::chrono::seconds(0)}).has_value());

  Json::Value future = claims("i");
  future["nbf"] = static_cast<Json::Int64>(now_seconds() + 600);
  EXPECT_FALSE(check_claims(make(future), ClaimPolicy{}).has_value());

  Json::Value issued_later = claims("i");
  issued_later["iat"] = static_cast<Json::Int64>(now_seconds() + 600);
  EXPECT_FALSE(check_claims(make(issued_later), ClaimPolicy{}).has_value());

  Json::Value no_expiry = claims("i");
  no_expiry.removeMember("exp");
  EXPECT_FALSE(check_claims(make(no_expiry), ClaimPolicy{}).has_value());
}

TEST(Jwt, IssuerMustMatch) {
  auto parsed = parse_jwt(*sign_rs256(claims("https://evil.test"), signing_key().get(), "k1"));
  ASSERT_TRUE(parsed.has_value());
  auto verdict = check_claims(*parsed, ClaimPolicy{.issuer = "https://maa.test"});
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code, Errc::verification_failed);
}

// A JWKS endpoint on loopback whose key set the test can rotate.
struct JwksService {
  std::unique_ptr<peers::HttpServer> server;
  std::atomic<int> requests{0};
  std::string jwks;

  explicit JwksService(const std::string& document) : jwks(document) {
    auto started = peers::HttpServer::start(peers::ServerOptions{}, [this](const peers::Request& request) {
      if (request.path != "/certs") {
        return peers::Response{.status = 404};
      }
      ++requests;
      return peers::Response{.body = jwks};
    });
    server = std::move(*started);
  }
};

std::string jwks_for(const std::vector<std::pair<std::string, EVP_PKEY*>>& keys) {
  Json::Value root(Json::objectValue);
  root["keys"] = Json::Value(Json::arrayValue);
  for (const auto& [kid, key] : keys) {
    auto certificate = cvm::testing::self_signed_certificate(key, "test signer");
    root["keys"].append(cvm::testing::jwks_entry(kid, certificate->get()));
  }
  return cvm::testing::compact_json(root);
}

TEST(TokenVerifier, FetchesJwksOnceAndRefetchesOnUnknownKid) {
  JwksService service(jwks_for({{"k1", signing_key().get()}}));
  std::string issuer = service.server->base_url();
  TokenVerifier verifier(TokenVerifierOptions{.issuer = issuer});

  auto first = verifier.verify(*sign_rs256(claims(issuer), signing_key().get(), "k1"));
  ASSERT_TRUE(first.has_value()) << first.error().to_string();
  auto second = verifier.verify(*sign_rs256(claims(issuer), signing_key().get(), "k1"));
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(verifier.jwks_fetches(), 1);

  // The service rotates to a new key: one refetch finds it.
  ossl::UniquePkey rotated = std::move(*cvm::testing::generate_rsa_key(2048));
  service.jwks = jwks_for({{"k1", signing_key().get()}, {"k2", rotated.get()}});
  auto after_rotation = verifier.verify(*sign_rs256(claims(issuer), rotated.get(), "k2"));
  ASSERT_TRUE(after_rotation.has_value()) << after_rotation.error().to_string();
  EXPECT_EQ(verifier.jwks_fetches(), 2);

  // A token from an unknown key fails after exactly one more refetch.
  ossl::UniquePkey stranger = std::move(*cvm::testing::generate_rsa_key(2048));
  auto unknown = verifier.verify(*sign_rs256(claims(issuer), stranger.get(), "k9"));
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::verification_failed);
  EXPECT_EQ(verifier.jwks_fetches(), 3);
}

TEST(TokenVerifier, KnownKidWithWrongKeyFails) {
  JwksService service(jwks_for({{"k1", signing_key().get()}}));
  std::string issuer = service.server->base_url();
  TokenVerifier verifier(TokenVerifierOptions{.issuer = issuer});
  ossl::UniquePkey impostor = std::move(*cvm::testing::generate_rsa_key(2048));
  auto verdict = verifier.verify(*sign_rs256(claims(issuer), impostor.get(), "k1"));
  ASSERT_FALSE(verdict.has_value());
  EXPECT_EQ(verdict.error().code, Errc::verification_failed);
}

// Encrypts a JWT as an AzureGuest response does, with an RSA key standing in
// for the TPM ephemeral key (the TPM path is covered by the end-to-end tests).
std::string encrypt_like_maa(const std::string& jwt, EVP_PKEY* rsa_key, Bytes& aes_key_out, bool url_safe) {
  Bytes aes_key(32);
  Bytes iv(12);
  RAND_bytes(aes_key.data(), static_cast<int>(aes_key.size()));
  RAND_bytes(iv.data(), static_cast<int>(iv.size()));
  aes_key_out = aes_key;
  ossl::UniquePkeyCtx rsa(EVP_PKEY_CTX_new(rsa_key, nullptr));
  std::size_t wrapped_length = 0;
  EVP_PKEY_encrypt_init(rsa.get());
  EVP_PKEY_CTX_set_rsa_padding(rsa.get(), RSA_PKCS1_PADDING);
  EVP_PKEY_encrypt(rsa.get(), nullptr, &wrapped_length, aes_key.data(), aes_key.size());
  Bytes wrapped(wrapped_length);
  EVP_PKEY_encrypt(rsa.get(), wrapped.data(), &wrapped_length, aes_key.data(), aes_key.size());

  ossl::UniqueCipherCtx aes(EVP_CIPHER_CTX_new());
  Bytes ciphertext(jwt.size());
  Bytes tag(16);
  int length = 0;
  EVP_EncryptInit_ex(aes.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
  EVP_CIPHER_CTX_ctrl(aes.get(), EVP_CTRL_GCM_SET_IVLEN, 12, nullptr);
  EVP_EncryptInit_ex(aes.get(), nullptr, nullptr, aes_key.data(), iv.data());
  EVP_EncryptUpdate(aes.get(), nullptr, &length, reinterpret_cast<const unsigned char*>("Transport Key"), 13);
  EVP_EncryptUpdate(aes.get(), ciphertext.data(), &length, as_bytes(jwt).data(), static_cast<int>(jwt.size()));
  EVP_EncryptFinal_ex(aes.get(), ciphertext.data() + length, &length);
  EVP_CIPHER_CTX_ctrl(aes.get(), EVP_CTRL_GCM_GET_TAG, 16, tag.data());

  Json::Value inner(Json::objectValue);
  inner["EncryptedInnerKey"] = base64_encode(wrapped);
  inner["AuthenticationData"] = base64_encode(tag);
  inner["Jwt"] = base64_encode(ciphertext);
  inner["EncryptionParams"]["BlockMode"] = "ChainingModeGCM";
  inner["EncryptionParams"]["BlockPadding"] = "PKCS7";
  inner["EncryptionParams"]["Cipher"] = "AES";
  inner["EncryptionParams"]["KeySizeInBits"] = 256;
  inner["EncryptionParams"]["Iv"] = base64_encode(iv);
  std::string text = cvm::testing::compact_json(inner);
  return url_safe ? base64url_encode(as_bytes(text)) : base64_encode(as_bytes(text));
}

KeyUnwrapper unwrap_with(EVP_PKEY* rsa_key) {
  return [rsa_key](ByteView wrapped) -> Result<Bytes> {
    ossl::UniquePkeyCtx context(EVP_PKEY_CTX_new(rsa_key, nullptr));
    std::size_t length = 0;
    EVP_PKEY_decrypt_init(context.get());
    EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING);
    EVP_PKEY_decrypt(context.get(), nullptr, &length, wrapped.data(), wrapped.size());
    Bytes out(length);
    if (EVP_PKEY_decrypt(context.get(), out.data(), &length, wrapped.data(), wrapped.size()) != 1) {
      return fail(ossl::openssl_error(Errc::verification_failed, "RSA decryption failed"));
    }
    out.resize(length);
    return out;
  };
}

TEST(AzureGuestToken, DecryptsBothEncodings) {
  const std::string jwt = "header.payload.signature";
  for (bool url_safe : {true, false}) {
    Bytes aes_key;
    std::string token = encrypt_like_maa(jwt, signing_key().get(), aes_key, url_safe);
    auto encrypted = parse_encrypted_token(token);
    ASSERT_TRUE(encrypted.has_value()) << encrypted.error().to_string();
    auto plain = decrypt_token(*encrypted, unwrap_with(signing_key().get()));
    ASSERT_TRUE(plain.has_value()) << plain.error().to_string();
    EXPECT_EQ(*plain, jwt);
  }
}

TEST(AzureGuestToken, TamperedCiphertextFailsAuthentication) {
  Bytes aes_key;
  auto encrypted = parse_encrypted_token(encrypt_like_maa("a.b.c", signing_key().get(), aes_key, true));
  ASSERT_TRUE(encrypted.has_value());
  encrypted->ciphertext[0] ^= 1;
  auto plain = decrypt_token(*encrypted, unwrap_with(signing_key().get()));
  ASSERT_FALSE(plain.has_value());
  EXPECT_EQ(plain.error().code, Errc::verification_failed);
}

TEST(AzureGuestToken, UnexpectedParametersAreUnsupported) {
  Json::Value inner(Json::objectValue);
  inner["EncryptionParams"]["BlockMode"] = "ChainingModeCBC";
  inner["EncryptionParams"]["Cipher"] = "AES";
  auto parsed = parse_encrypted_token(base64url_encode(as_bytes(cvm::testing::compact_json(inner))));
  ASSERT_FALSE(parsed.has_value());
  EXPECT_EQ(parsed.error().code, Errc::unsupported);
  auto garbage = parse_encrypted_token("not base64 !");
  ASSERT_FALSE(garbage.has_value());
  EXPECT_EQ(garbage.error().code, Errc::invalid_data);
}

TEST(ServiceError, BothCasingsCarryCodeAndMessage) {
  HttpRequest request{.method = "POST", .url = "https://maa.test/attest/AzureGuest"};
  Error lower = service_error(request, HttpResponse{.status = 400, .body = R"({"error":{"code":"InvalidParameter","message":"policy failed"}})"});
  EXPECT_EQ(lower.code, Errc::verification_failed);
  EXPECT_EQ(lower.cause.code, 400);
  EXPECT_EQ(lower.cause.text, "InvalidParameter: policy failed");
  Error upper = service_error(request, HttpResponse{.status = 500, .body = R"({"Error":{"Code":"InternalError","Message":"boom"}})"});
  EXPECT_EQ(upper.code, Errc::unavailable);
  EXPECT_EQ(upper.cause.text, "InternalError: boom");
  Error text = service_error(request, HttpResponse{.status = 403, .body = "forbidden"});
  EXPECT_EQ(text.code, Errc::permission_denied);
}

TEST(AttestationUrl, KeepsHostAndPortReplacesPath) {
  EXPECT_EQ(attestation_url("https://shared.eus2.attest.azure.net/", Protocol::azure_guest).value(),
            "https://shared.eus2.attest.azure.net/attest/AzureGuest?api-version=2020-10-01");
  EXPECT_EQ(attestation_url("https://127.0.0.1:8443/some/path?x=1", Protocol::sev_snp_vm).value(),
            "https://127.0.0.1:8443/attest/SevSnpVm?api-version=2022-08-01");
  EXPECT_FALSE(attestation_url("maa.example", Protocol::azure_guest).has_value());
}

TEST(Region, TableMatchesPublishedList) {
  CVM_REQUIRE_FIXTURES();
  Bytes data = cvm::testing::read_fixture("cvm-attestation-tools/attestation_uri_table.json");
  auto table = parse_json(as_text(data), "region table");
  ASSERT_TRUE(table.has_value());
  EXPECT_EQ(table->size(), known_region_count());
  for (const auto& region : table->getMemberNames()) {
    auto endpoint = shared_endpoint_for_region(region);
    ASSERT_TRUE(endpoint.has_value()) << region;
    EXPECT_EQ(*endpoint, (*table)[region].asString()) << region;
  }
}

TEST(Region, UnknownRegionIsNotFound) {
  EXPECT_EQ(shared_endpoint_for_region("EastUS2").value(), "https://sharedeus2.eus2.attest.azure.net");
  auto unknown = shared_endpoint_for_region("moonbase1");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::not_found);
}

TEST(MaaFixtures, ExampleTokenParses) {
  CVM_REQUIRE_FIXTURES();
  Bytes data = cvm::testing::read_fixture("maa-rest-api-specs/token.jwt");
  std::string text(as_text(data));
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) {
    text.pop_back();
  }
  auto token = parse_jwt(text);
  ASSERT_TRUE(token.has_value()) << token.error().to_string();
  EXPECT_EQ(token->algorithm(), "RS256");
  EXPECT_FALSE(token->key_id().empty());
  EXPECT_TRUE(token->payload.isMember("x-ms-sevsnpvm-reportdata"));
  EXPECT_TRUE(numeric_date(token->payload, "exp").has_value());
}

TEST(MaaFixtures, ExampleJwksParses) {
  CVM_REQUIRE_FIXTURES();
  Bytes data = cvm::testing::read_fixture("maa-rest-api-specs/maa_certs_jwks.example.json");
  auto jwks = parse_jwks(as_text(data));
  ASSERT_TRUE(jwks.has_value()) << jwks.error().to_string();
  EXPECT_FALSE(jwks->keys.empty());
  for (const auto& [kid, key] : jwks->keys) {
    EXPECT_EQ(EVP_PKEY_get_base_id(key.get()), EVP_PKEY_RSA) << kid;
  }
}

TEST(MaaFixtures, SevSnpVmRuntimeDataHashMatchesTokenClaim) {
  CVM_REQUIRE_FIXTURES();
  Bytes data = cvm::testing::read_fixture("maa-rest-api-specs/AttestSevSnpVm.example.json");
  auto example = parse_json(as_text(data), "example");
  ASSERT_TRUE(example.has_value());
  auto runtime = base64_decode((*example)["parameters"]["request"]["runtimeData"]["data"].asString());
  ASSERT_TRUE(runtime.has_value());
  auto token = parse_jwt((*example)["responses"]["200"]["body"]["token"].asString());
  ASSERT_TRUE(token.has_value());
  std::string claimed = token->payload["x-ms-sevsnpvm-reportdata"].asString();
  EXPECT_EQ(hex_encode(ossl::sha256(*runtime)), claimed.substr(0, 64));
  EXPECT_EQ(hex_encode(ossl::sha256(*runtime)), "99dd4593a43f4b0f5f10f1856c7326eba309b943251fededc15592e3250ca9e9");
}

}  // namespace
}  // namespace cvm::client
