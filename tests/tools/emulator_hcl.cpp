#include "tests/tools/emulator_hcl.hpp"

#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <algorithm>
#include <cctype>

#include "snp/report.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::emulator {
namespace {

constexpr std::uint32_t kHclSignature = 0x414c4348;  // "HCLA" read little-endian
constexpr std::uint32_t kRequestTypeAkCert = 2;       // AK_CERT_REQUEST, the type of every NV copy
constexpr std::uint32_t kRequestDataVersion = 1;
constexpr std::uint32_t kReportTypeSnp = 2;
constexpr std::uint32_t kHashTypeSha256 = 1;
constexpr std::size_t kRequestDataFixedSize = 20;  // data_size .. variable_data_size
constexpr std::uint64_t kAzurePolicy = 0x3001f;
// SMT_EN | ECC_EN | ALIAS_CHECK_COMPLETE, as in Azure Milan reports.
constexpr std::uint64_t kAzurePlatformInfo = 0x25;
constexpr std::uint32_t kDefaultRsaExponent = 65537;
static_assert(kHclClaimsOffset == kHclHeaderSize + snp::kReportSize + kRequestDataFixedSize);

void append_u32le(Bytes& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) {
    out.push_back(static_cast<std::uint8_t>((value >> (8 * i)) & 0xff));
  }
}

Bytes bignum_bytes(const BIGNUM* number) {
  Bytes out(static_cast<std::size_t>(BN_num_bytes(number)));
  BN_bn2bin(number, out.data());
  return out;
}

Bytes strip_leading_zeros(ByteView data) {
  std::size_t first = 0;
  while (first + 1 < data.size() && data[first] == 0) {
    ++first;
  }
  return Bytes(data.begin() + static_cast<long>(first), data.end());
}

Result<RsaPublicKey> parse_pem_public_key(ByteView data) {
  ossl::UniqueBio bio(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!bio) {
    return fail(ossl::openssl_error(Errc::internal, "BIO_new_mem_buf failed"));
  }
  ossl::UniquePkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    return fail(ossl::openssl_error(Errc::invalid_data, "invalid PEM public key"));
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return fail(Errc::unsupported, "the AK public key is not an RSA key");
  }
  BIGNUM* modulus = nullptr;
  int modulus_found = EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N, &modulus);
  ossl::UniqueBignum owned_modulus(modulus);
  BIGNUM* exponent = nullptr;
  int exponent_found = EVP_PKEY_get_bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E, &exponent);
  ossl::UniqueBignum owned_exponent(exponent);
  if (modulus_found != 1 || exponent_found != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot read the RSA modulus and exponent"));
  }
  return RsaPublicKey{.modulus = bignum_bytes(modulus), .exponent = bignum_bytes(exponent)};
}

Result<RsaPublicKey> parse_tpm2b_public(ByteView data) {
  TPM2B_PUBLIC public_area{};
  std::size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(data.data(), data.size(), &offset, &public_area);
  if (rc != TSS2_RC_SUCCESS) {
    Error error{.code = Errc::invalid_data,
                .message = "the AK public key is neither PEM nor a marshalled TPM2B_PUBLIC"};
    error.cause = Cause{.source = Cause::Source::tpm, .code = rc, .text = Tss2_RC_Decode(rc)};
    return fail(std::move(error).with_hint("write it with `tpm2_readpublic -c 0x81000003 -f pem -o FILE`"));
  }
  if (offset != data.size()) {
    return fail(Errc::invalid_data, "TPM2B_PUBLIC followed by " + std::to_string(data.size() - offset) +
                                        " extra bytes");
  }

  const TPMT_PUBLIC& area = public_area.publicArea;
  if (area.type != TPM2_ALG_RSA) {
    return fail(Errc::unsupported, "the AK public area has type " + std::to_string(area.type) +
                                       ", not TPM2_ALG_RSA (1)");
  }
  const TPM2B_PUBLIC_KEY_RSA& unique = area.unique.rsa;
  if (unique.size == 0 || unique.size * 8u != area.parameters.rsaDetail.keyBits) {
    return fail(Errc::invalid_data, "the AK modulus has " + std::to_string(unique.size) +
                                        " bytes but keyBits is " +
                                        std::to_string(area.parameters.rsaDetail.keyBits));
  }

  // An exponent of 0 in TPMS_RSA_PARMS means the default, 65537.
  std::uint32_t exponent_value = area.parameters.rsaDetail.exponent;
  if (exponent_value == 0) {
    exponent_value = kDefaultRsaExponent;
  }
  Bytes exponent = {static_cast<std::uint8_t>(exponent_value >> 24), static_cast<std::uint8_t>(exponent_value >> 16),
                    static_cast<std::uint8_t>(exponent_value >> 8), static_cast<std::uint8_t>(exponent_value)};
  return RsaPublicKey{.modulus = strip_leading_zeros(ByteView(unique.buffer, unique.size)),
                      .exponent = strip_leading_zeros(exponent)};
}

std::string upper_hex(ByteView data) {
  std::string text = hex_encode(data);
  for (char& c : text) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return text;
}

// CPUID family, model and stepping of the processors Azure runs SNP CVMs on.
void set_cpuid(testing::ReportFields& fields, snp::Product product) {
  fields.cpuid_fam_id = 0x19;
  fields.cpuid_mod_id = product == snp::Product::genoa ? 0x11 : 0x01;
  fields.cpuid_step = 0x01;
}

}  // namespace

Result<RsaPublicKey> parse_ak_public(ByteView data) {
  if (data.empty()) {
    return fail(Errc::invalid_data, "the AK public key file is empty");
  }
  if (as_text(data).find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos) {
    return parse_pem_public_key(data);
  }
  return parse_tpm2b_public(data);
}

Result<std::string> normalize_guid(std::string_view text) {
  static constexpr std::size_t kDashes[] = {8, 13, 18, 23};
  Error invalid{.code = Errc::invalid_argument,
                .message = "invalid VM id '" + std::string(text) +
                           "': expected a GUID of the form XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"};
  if (text.size() != 36) {
    return fail(std::move(invalid));
  }
  std::string out(text);
  for (std::size_t i = 0; i < out.size(); ++i) {
    bool dash_position = std::find(std::begin(kDashes), std::end(kDashes), i) != std::end(kDashes);
    unsigned char c = static_cast<unsigned char>(out[i]);
    if (dash_position ? c != '-' : !std::isxdigit(c)) {
      return fail(std::move(invalid));
    }
    out[i] = static_cast<char>(std::toupper(c));
  }
  return out;
}

Result<std::string> random_guid() {
  std::array<std::uint8_t, 16> bytes{};
  if (RAND_bytes(bytes.data(), static_cast<int>(bytes.size())) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "RAND_bytes failed"));
  }
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0f) | 0x40);  // RFC 4122 version 4
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = upper_hex(bytes);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

std::string runtime_claims(const RsaPublicKey& ak, const std::string& vm_id, ByteView user_data) {
  // Every value is base64url, hex or a checked GUID, so no JSON escaping is needed.
  std::string claims;
  claims += R"({"keys":[{"kid":"HCLAkPub","key_ops":["sign"],"kty":"RSA","e":")";
  claims += base64url_encode(ak.exponent);
  claims += R"(","n":")";
  claims += base64url_encode(ak.modulus);
  claims += R"("}],"vm-configuration":{"console-enabled":false,"secure-boot":true,"tpm-enabled":true,)";
  claims += R"("vmUniqueId":")" + vm_id + R"("},"user-data":")";
  claims += upper_hex(user_data);
  claims += R"("})";
  return claims;
}

Result<Bytes> build_hcl_report(const Signer& signer, const RsaPublicKey& ak, const HclOptions& options) {
  if (options.header_version != 1 && options.header_version != 2) {
    return fail(Errc::invalid_argument,
                "HCL header version " + std::to_string(options.header_version) + " is not 1 or 2");
  }
  if (options.user_data.size() > kUserDataSize) {
    return fail(Errc::invalid_argument, "user data has " + std::to_string(options.user_data.size()) +
                                            " bytes; NV 0x01400002 holds at most 64");
  }
  std::string vm_id = CVM_TRY(normalize_guid(options.vm_id));
  Bytes user_data = options.user_data;
  user_data.resize(kUserDataSize, 0);

  std::string claims = runtime_claims(ak, vm_id, user_data);
  std::size_t total_size = kHclClaimsOffset + claims.size();
  if (total_size > options.max_size) {
    return fail(std::move(Error{.code = Errc::invalid_argument,
                                .message = "the HCL report would be " + std::to_string(total_size) +
                                           " bytes, more than the " + std::to_string(options.max_size) +
                                           " bytes an NV index may hold"})
                    .with_hint("swtpm caps an NV index at 2048 bytes: use an RSA-2048 AK so the claims stay "
                               "compact"));
  }

  testing::ReportFields fields;
  fields.version = 3;
  fields.policy = kAzurePolicy;
  fields.vmpl = 0;
  fields.signature_algo = snp::kSignatureAlgoEcdsaP384Sha384;
  fields.current_tcb = signer.platform.tcb.raw;
  fields.reported_tcb = signer.platform.tcb.raw;
  fields.committed_tcb = signer.platform.tcb.raw;
  fields.launch_tcb = signer.platform.tcb.raw;
  fields.platform_info = kAzurePlatformInfo;
  fields.chip_id = signer.platform.chip_id;
  fields.measurement = signer.platform.measurement;
  fields.firmware_major = signer.platform.firmware_major;
  fields.firmware_minor = signer.platform.firmware_minor;
  fields.firmware_build = signer.platform.firmware_build;
  set_cpuid(fields, signer.platform.product);
  Bytes claims_digest = ossl::sha256(as_bytes(claims));
  std::copy(claims_digest.begin(), claims_digest.end(), fields.report_data.begin());
  if (RAND_bytes(fields.report_id.data(), static_cast<int>(fields.report_id.size())) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "RAND_bytes failed"));
  }
  Bytes report = testing::encode_report(fields);
  CVM_TRY(testing::sign_report(report, signer.vcek_key.get()));

  Bytes blob;
  blob.reserve(total_size);
  append_u32le(blob, kHclSignature);
  append_u32le(blob, options.header_version);
  append_u32le(blob, static_cast<std::uint32_t>(total_size));
  append_u32le(blob, kRequestTypeAkCert);
  append_u32le(blob, 0);  // status
  blob.resize(kHclHeaderSize, 0);
  blob.insert(blob.end(), report.begin(), report.end());
  append_u32le(blob, static_cast<std::uint32_t>(kRequestDataFixedSize + claims.size()));
  append_u32le(blob, kRequestDataVersion);
  append_u32le(blob, kReportTypeSnp);
  append_u32le(blob, kHashTypeSha256);
  append_u32le(blob, static_cast<std::uint32_t>(claims.size()));
  blob.insert(blob.end(), claims.begin(), claims.end());
  return blob;
}

}  // namespace cvm::emulator
