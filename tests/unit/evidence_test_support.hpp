// Helpers shared by the evidence tests: reading check outcomes, JSON text in
// the layouts clients send, and TPM structures built with tpm2-tss as an
// encoder independent of the code under test.
#pragma once

#include <gtest/gtest.h>
#include <json/reader.h>
#include <json/writer.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <tss2/tss2_mu.h>

#include <cstring>
#include <set>
#include <string>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/time.hpp"
#include "report/evidence.hpp"
#include "report/verify.hpp"

namespace cvm::testing {

// The AK attributes of an Azure vTPM: fixedTPM, fixedParent,
// sensitiveDataOrigin, userWithAuth, noDA, restricted, sign.
inline constexpr TPMA_OBJECT kAzureAkAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                                  TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
                                                  TPMA_OBJECT_NODA | TPMA_OBJECT_RESTRICTED |
                                                  TPMA_OBJECT_SIGN_ENCRYPT;

inline std::set<std::string> failed_checks(const report::EvidenceVerification& verification) {
  std::set<std::string> out;
  for (const auto& check : verification.checks) {
    if (check.status == snp::CheckStatus::fail) out.insert(check.name);
  }
  return out;
}

inline std::string describe(const report::EvidenceVerification& verification) {
  std::string out;
  for (const auto& check : verification.checks) {
    out += check.name + "=" + std::string(snp::check_status_name(check.status)) + " (" + check.detail + ")\n";
  }
  for (const auto& note : verification.notes) out += "note: " + note + "\n";
  return out;
}

inline snp::CheckStatus status_of(const report::EvidenceVerification& verification, std::string_view name) {
  const snp::Check* check = verification.find(name);
  EXPECT_NE(check, nullptr) << "no check named " << name;
  return check ? check->status : snp::CheckStatus::fail;
}

inline Json::Value parse_json_text(std::string_view text) {
  Json::Value root;
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string errors;
  EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &root, &errors)) << errors;
  return root;
}

inline std::string compact_json(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

// JSON as Microsoft's client writes it, tab-indented with " : ", except
// that object members come in reverse alphabetical order, so a reader that
// depends on member order fails.
inline std::string tabbed_reversed_json(const Json::Value& value, int depth = 0) {
  std::string indent(static_cast<std::size_t>(depth), '\t');
  if (value.isObject()) {
    auto names = value.getMemberNames();
    std::string out = "{\n";
    for (auto name = names.rbegin(); name != names.rend(); ++name) {
      out += indent + "\t" + Json::valueToQuotedString(name->c_str()) + " : " +
             tabbed_reversed_json(value[*name], depth + 1);
      out += std::next(name) == names.rend() ? "\n" : ",\n";
    }
    return out + indent + "}";
  }
  if (value.isArray()) {
    std::string out = "[\n";
    for (Json::ArrayIndex i = 0; i < value.size(); ++i) {
      out += indent + "\t" + tabbed_reversed_json(value[i], depth + 1) + (i + 1 == value.size() ? "\n" : ",\n");
    }
    return out + indent + "]";
  }
  return compact_json(value);
}

// Standard base64 with padding, for readers that must accept both alphabets.
inline std::string padded_base64(ByteView data) { return base64_encode(data); }

inline Bytes hex_bytes(std::string_view text) {
  auto bytes = hex_decode(text);
  EXPECT_TRUE(bytes.has_value()) << text;
  return bytes ? *bytes : Bytes{};
}

inline Clock::time_point at_time(std::string_view text) {
  auto at = parse_rfc3339(text);
  EXPECT_TRUE(at.has_value()) << text;
  return at ? *at : Clock::time_point{};
}

inline ossl::UniquePkey read_pem_public_key(ByteView pem) {
  ossl::UniqueBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return ossl::UniquePkey(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
}

inline Bytes rsa_modulus(EVP_PKEY* key) {
  BIGNUM* n = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n), 1);
  ossl::UniqueBignum owned(n);
  Bytes out(static_cast<std::size_t>(BN_num_bytes(n)));
  BN_bn2bin(n, out.data());
  return out;
}

// A marshalled TPM2B_PUBLIC (size prefix included) of an RSA signing key
// with an RSASSA-SHA256 scheme, as ReadPublic returns an Azure AK.
inline Bytes rsa_ak_public(ByteView modulus, TPMA_OBJECT attributes = kAzureAkAttributes) {
  TPM2B_PUBLIC public_key{};
  TPMT_PUBLIC& area = public_key.publicArea;
  area.type = TPM2_ALG_RSA;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = attributes;
  area.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  area.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
  area.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  area.parameters.rsaDetail.keyBits = static_cast<TPMI_RSA_KEY_BITS>(modulus.size() * 8);
  area.unique.rsa.size = static_cast<UINT16>(modulus.size());
  std::memcpy(area.unique.rsa.buffer, modulus.data(), modulus.size());
  Bytes out(sizeof(TPM2B_PUBLIC));
  size_t offset = 0;
  EXPECT_EQ(Tss2_MU_TPM2B_PUBLIC_Marshal(&public_key, out.data(), out.size(), &offset), TSS2_RC_SUCCESS);
  out.resize(offset);
  return out;
}

// Runtime claims as a paravisor writes them (compact JSON), with `ak` as HCLAkPub.
inline std::string runtime_claims_for(EVP_PKEY* ak, ByteView user_data) {
  Json::Value key(Json::objectValue);
  key["kid"] = "HCLAkPub";
  key["key_ops"].append("sign");
  key["kty"] = "RSA";
  key["e"] = "AQAB";
  key["n"] = base64url_encode(rsa_modulus(ak));
  Json::Value claims(Json::objectValue);
  claims["keys"].append(key);
  claims["vm-configuration"]["console-enabled"] = true;
  claims["vm-configuration"]["secure-boot"] = true;
  claims["vm-configuration"]["tpm-enabled"] = true;
  claims["vm-configuration"]["vmUniqueId"] = "6A1F4C2E-0B7D-4E59-9C3A-2D8E5F7B1A04";
  Bytes padded(user_data.begin(), user_data.end());
  padded.resize(64, 0);
  claims["user-data"] = hex_encode(padded);
  return compact_json(claims);
}

}  // namespace cvm::testing
