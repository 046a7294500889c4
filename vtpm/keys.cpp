#include "vtpm/keys.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>

#include <cstring>

#include "common/rsa.hpp"
#include "vtpm/nv.hpp"

namespace cvm::vtpm {
namespace {


constexpr std::uint32_t kDefaultRsaExponent = 65537;
constexpr std::uint16_t kEphemeralKeyBits = 2048;

Result<Bytes> marshal_public(const TPM2B_PUBLIC& public_key) {
  std::uint8_t buffer[sizeof(TPM2B_PUBLIC)];
  std::size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Marshal(&public_key, buffer, sizeof buffer, &offset);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(tpm_error(rc, "Tss2_MU_TPM2B_PUBLIC_Marshal"));
  }
  return Bytes(buffer, buffer + offset);
}

Result<PublicKey> to_public_key(const TPM2B_PUBLIC& public_key) {
  PublicKey out;
  out.tpm2b_public = CVM_TRY(marshal_public(public_key));
  out.key = CVM_TRY(rsa_public_key(public_key.publicArea));
  out.attributes = public_key.publicArea.objectAttributes;
  return out;
}

std::string attribute_names(TPMA_OBJECT attributes) {
  static constexpr std::pair<TPMA_OBJECT, const char*> kNames[] = {
      {TPMA_OBJECT_FIXEDTPM, "fixedTPM"},
      {TPMA_OBJECT_FIXEDPARENT, "fixedParent"},
      {TPMA_OBJECT_SENSITIVEDATAORIGIN, "sensitiveDataOrigin"},
      {TPMA_OBJECT_USERWITHAUTH, "userWithAuth"},
      {TPMA_OBJECT_ADMINWITHPOLICY, "adminWithPolicy"},
      {TPMA_OBJECT_NODA, "noDA"},
      {TPMA_OBJECT_RESTRICTED, "restricted"},
      {TPMA_OBJECT_DECRYPT, "decrypt"},
      {TPMA_OBJECT_SIGN_ENCRYPT, "sign"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if ((attributes & bit) != 0) {
      out += out.empty() ? "" : "|";
      out += name;
    }
  }
  return out.empty() ? "none" : out;
}

// The ephemeral key's template, shared by creation and decryption so that
// both derive the same key from the NULL hierarchy's seed.
TPM2B_PUBLIC ephemeral_template(const TPM2B_DIGEST& policy) {
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_RSA;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = TPMA_OBJECT_DECRYPT | TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                          TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_NODA;
  area.authPolicy = policy;
  area.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  area.parameters.rsaDetail.scheme.scheme = TPM2_ALG_NULL;
  area.parameters.rsaDetail.keyBits = kEphemeralKeyBits;
  area.parameters.rsaDetail.exponent = 0;
  // Microsoft's guest attestation client fills `unique` with 256 zero bytes;
  // an empty `unique` would derive a different key from the same seed.
  area.unique.rsa.size = kEphemeralKeyBits / 8;
  return in;
}

Result<EsysHandle> start_session(const Tpm& tpm, TPM2_SE type) {
  TPMT_SYM_DEF symmetric{};
  symmetric.algorithm = TPM2_ALG_NULL;
  ESYS_TR session = ESYS_TR_NONE;
  CVM_TRY(tpm.call("StartAuthSession", type == TPM2_SE_TRIAL ? "trial session" : "policy session", [&] {
    return Esys_StartAuthSession(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
                                 nullptr, type, &symmetric, TPM2_ALG_SHA256, &session);
  }));
  EsysHandle handle(tpm.esys(), session, EsysHandle::Kind::flush);
  // continueSession keeps the session in the TPM after each command, so that
  // the EsysHandle above is the one place that flushes it.
  CVM_TRY(tpm.call("Esys_TRSess_SetAttributes", "session", [&] {
    return Esys_TRSess_SetAttributes(tpm.esys(), session, TPMA_SESSION_CONTINUESESSION, 0xff);
  }));
  return handle;
}

// Runs TPM2_PolicyPCR with an empty pcrDigest, so the TPM uses the PCRs'
// current values both in a trial session and in a real one.
Result<void> policy_pcr(const Tpm& tpm, const EsysHandle& session, const PcrSelection& pcrs) {
  TPM2B_DIGEST current{};
  TPML_PCR_SELECTION selection = to_tpml(pcrs);
  return tpm.call("PolicyPCR", hash_algorithm_name(pcrs.bank) + " PCRs", [&] {
    return Esys_PolicyPCR(tpm.esys(), session.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &current, &selection);
  });
}

Result<TPM2B_DIGEST> pcr_policy_digest(const Tpm& tpm, const PcrSelection& pcrs) {
  EsysHandle trial = CVM_TRY(start_session(tpm, TPM2_SE_TRIAL));
  CVM_TRY(policy_pcr(tpm, trial, pcrs));
  TPM2B_DIGEST* raw = nullptr;
  CVM_TRY(tpm.call("PolicyGetDigest", "trial session", [&] {
    return Esys_PolicyGetDigest(tpm.esys(), trial.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw);
  }));
  EsysPtr<TPM2B_DIGEST> digest(raw);
  return *digest;
}

struct CreatedPrimary {
  EsysHandle handle;
  EsysPtr<TPM2B_PUBLIC> public_key;
};

Result<CreatedPrimary> create_primary(const Tpm& tpm, ESYS_TR hierarchy, const TPM2B_PUBLIC& in_public,
                                      std::string_view subject) {
  TPM2B_SENSITIVE_CREATE sensitive{};
  TPM2B_DATA outside_info{};
  TPML_PCR_SELECTION creation_pcrs{};
  ESYS_TR object = ESYS_TR_NONE;
  TPM2B_PUBLIC* raw_public = nullptr;
  TPM2B_CREATION_DATA* raw_creation_data = nullptr;
  TPM2B_DIGEST* raw_creation_hash = nullptr;
  TPMT_TK_CREATION* raw_ticket = nullptr;
  CVM_TRY(tpm.call("CreatePrimary", subject, [&] {
    return Esys_CreatePrimary(tpm.esys(), hierarchy, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                              &in_public, &outside_info, &creation_pcrs, &object, &raw_public, &raw_creation_data,
                              &raw_creation_hash, &raw_ticket);
  }));
  CreatedPrimary out{.handle = EsysHandle(tpm.esys(), object, EsysHandle::Kind::flush),
                     .public_key = EsysPtr<TPM2B_PUBLIC>(raw_public)};
  EsysPtr<TPM2B_CREATION_DATA> creation_data(raw_creation_data);
  EsysPtr<TPM2B_DIGEST> creation_hash(raw_creation_hash);
  EsysPtr<TPMT_TK_CREATION> ticket(raw_ticket);
  return out;
}

TPMT_RSA_DECRYPT decrypt_scheme(DecryptScheme scheme) {
  TPMT_RSA_DECRYPT out{};
  switch (scheme) {
    case DecryptScheme::rsaes:
      out.scheme = TPM2_ALG_RSAES;
      break;
    case DecryptScheme::oaep_sha1:
      out.scheme = TPM2_ALG_OAEP;
      out.details.oaep.hashAlg = TPM2_ALG_SHA1;
      break;
    case DecryptScheme::oaep_sha256:
      out.scheme = TPM2_ALG_OAEP;
      out.details.oaep.hashAlg = TPM2_ALG_SHA256;
      break;
    case DecryptScheme::oaep_sha384:
      out.scheme = TPM2_ALG_OAEP;
      out.details.oaep.hashAlg = TPM2_ALG_SHA384;
      break;
  }
  return out;
}

}  // namespace

Result<ossl::UniquePkey> rsa_public_key(const TPMT_PUBLIC& public_area) {
  if (public_area.type != TPM2_ALG_RSA) {
    return fail(Errc::unsupported, "the TPM key has type " + handle_hex(public_area.type) + ", not RSA");
  }
  const TPM2B_PUBLIC_KEY_RSA& modulus = public_area.unique.rsa;
  if (modulus.size == 0 || modulus.size > sizeof modulus.buffer) {
    return fail(Errc::invalid_data, "the RSA modulus of the TPM key is " + std::to_string(modulus.size) + " bytes");
  }
  std::uint32_t exponent = public_area.parameters.rsaDetail.exponent;
  if (exponent == 0) {
    exponent = kDefaultRsaExponent;
  }

  Bytes exponent_bytes;
  for (int shift = 24; shift >= 0; shift -= 8) {
    exponent_bytes.push_back(static_cast<std::uint8_t>((exponent >> shift) & 0xff));
  }
  auto key = ossl::rsa_public_key(ByteView(modulus.buffer, modulus.size), exponent_bytes);
  if (!key) {
    return fail(std::move(key).error().prefixed("the TPM's RSA public key"));
  }
  return std::move(*key);
}

Result<PublicKey> parse_tpm2b_public(ByteView tpm2b_public) {
  TPM2B_PUBLIC public_key{};
  std::size_t offset = 0;
  TSS2_RC rc = Tss2_MU_TPM2B_PUBLIC_Unmarshal(tpm2b_public.data(), tpm2b_public.size(), &offset, &public_key);
  if (rc != TSS2_RC_SUCCESS) {
    Error error = tpm_error(rc, "Tss2_MU_TPM2B_PUBLIC_Unmarshal");
    error.code = Errc::invalid_data;
    error.message = "invalid TPM2B_PUBLIC (" + std::to_string(tpm2b_public.size()) + " bytes)";
    return fail(std::move(error));
  }
  if (offset != tpm2b_public.size()) {
    return fail(std::move(Error{.code = Errc::invalid_data,
                                .message = "TPM2B_PUBLIC has " + std::to_string(tpm2b_public.size() - offset) +
                                           " trailing bytes"})
                    .at("TPM2B_PUBLIC", offset));
  }
  PublicKey out;
  out.tpm2b_public.assign(tpm2b_public.begin(), tpm2b_public.end());
  out.key = CVM_TRY(rsa_public_key(public_key.publicArea));
  out.attributes = public_key.publicArea.objectAttributes;
  return out;
}

Result<PublicKey> read_ak_public(const Tpm& tpm, TPM2_HANDLE handle) {
  auto ak = tpm.handle_from_tpm(handle);
  if (!ak) {
    Error error = std::move(ak).error();
    if (error.code == Errc::not_found) {
      error.message = "no attestation key at persistent handle " + handle_hex(handle) + " (" + error.message + ")";
      error.hint = "Azure vTPMs hold the AK at 0x81000003; this TPM is not provisioned like one";
    }
    return fail(std::move(error));
  }
  TPM2B_PUBLIC* raw_public = nullptr;
  TPM2B_NAME* raw_name = nullptr;
  TPM2B_NAME* raw_qualified = nullptr;
  CVM_TRY(tpm.call("ReadPublic", "AK " + handle_hex(handle), [&] {
    return Esys_ReadPublic(tpm.esys(), ak->get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw_public, &raw_name,
                           &raw_qualified);
  }));
  EsysPtr<TPM2B_PUBLIC> public_key(raw_public);
  EsysPtr<TPM2B_NAME> name(raw_name);
  EsysPtr<TPM2B_NAME> qualified(raw_qualified);

  const TPMT_PUBLIC& area = public_key->publicArea;
  TPMA_OBJECT attributes = area.objectAttributes;
  if (area.type != TPM2_ALG_RSA || (attributes & kRequiredAkAttributes) != kRequiredAkAttributes ||
      (attributes & TPMA_OBJECT_DECRYPT) != 0) {
    return fail(Error{.code = Errc::verification_failed,
                      .message = "the object at " + handle_hex(handle) + " is not an attestation key: type " +
                                 handle_hex(area.type) + ", attributes " + attribute_names(attributes),
                      .hint = "an AK is an RSA key with restricted|sign|fixedTPM|fixedParent|sensitiveDataOrigin "
                              "and without decrypt"});
  }
  return to_public_key(*public_key);
}

Result<std::optional<Bytes>> read_ak_certificate(const Tpm& tpm) {
  auto certificate = nv_read(tpm, kAkCertificateIndex, NvReadOptions{.uninitialized_attempts = 1});
  if (!certificate) {
    Errc code = certificate.error().code;
    if (code == Errc::not_found || code == Errc::not_ready) {
      return std::optional<Bytes>();
    }
    return std::unexpected(std::move(certificate).error());
  }
  return std::optional<Bytes>(std::move(*certificate));
}

Result<void> provision_ak(const Tpm& tpm, TPM2_HANDLE handle) {
  TPM2B_PUBLIC in{};
  TPMT_PUBLIC& area = in.publicArea;
  area.type = TPM2_ALG_RSA;
  area.nameAlg = TPM2_ALG_SHA256;
  area.objectAttributes = kRequiredAkAttributes | TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA;
  area.parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
  area.parameters.rsaDetail.scheme.scheme = TPM2_ALG_RSASSA;
  area.parameters.rsaDetail.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
  area.parameters.rsaDetail.keyBits = 2048;
  area.parameters.rsaDetail.exponent = 0;

  CreatedPrimary key = CVM_TRY(create_primary(tpm, ESYS_TR_RH_OWNER, in, "AK template"));
  ESYS_TR persistent = ESYS_TR_NONE;
  CVM_TRY(tpm.call("EvictControl", handle_hex(handle), [&] {
    return Esys_EvictControl(tpm.esys(), ESYS_TR_RH_OWNER, key.handle.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                             ESYS_TR_NONE, handle, &persistent);
  }));
  EsysHandle persisted(tpm.esys(), persistent, EsysHandle::Kind::close);
  return {};
}

std::string_view decrypt_scheme_name(DecryptScheme scheme) {
  switch (scheme) {
    case DecryptScheme::rsaes: return "RSAES-PKCS1-v1_5";
    case DecryptScheme::oaep_sha1: return "RSAES-OAEP-SHA1";
    case DecryptScheme::oaep_sha256: return "RSAES-OAEP-SHA256";
    case DecryptScheme::oaep_sha384: return "RSAES-OAEP-SHA384";
  }
  return "unknown";
}

Result<EphemeralKey> create_ephemeral_key(const Tpm& tpm, const EphemeralKeyOptions& options) {
  CVM_TRY(validate_selection(options.pcrs));
  TPM2B_DIGEST policy = CVM_TRY(pcr_policy_digest(tpm, options.pcrs));
  CreatedPrimary key = CVM_TRY(create_primary(tpm, ESYS_TR_RH_NULL, ephemeral_template(policy), "ephemeral key"));

  EphemeralKey out;
  out.public_key = CVM_TRY(to_public_key(*key.public_key));
  out.policy_digest.assign(policy.buffer, policy.buffer + policy.size);

  EsysHandle ak = CVM_TRY(tpm.handle_from_tpm(options.ak));
  TPM2B_DATA qualifying{};
  TPMT_SIG_SCHEME scheme{};
  scheme.scheme = TPM2_ALG_NULL;
  TPM2B_ATTEST* raw_attest = nullptr;
  TPMT_SIGNATURE* raw_signature = nullptr;
  // The key has no adminWithPolicy, so its empty auth value passes the ADMIN
  // role that TPM2_Certify requires; the AK is used through userWithAuth.
  CVM_TRY(tpm.call("Certify", "ephemeral key with AK " + handle_hex(options.ak), [&] {
    return Esys_Certify(tpm.esys(), key.handle.get(), ak.get(), ESYS_TR_PASSWORD, ESYS_TR_PASSWORD, ESYS_TR_NONE,
                        &qualifying, &scheme, &raw_attest, &raw_signature);
  }));
  EsysPtr<TPM2B_ATTEST> attest(raw_attest);
  EsysPtr<TPMT_SIGNATURE> signature(raw_signature);
  out.certify_info.assign(attest->attestationData, attest->attestationData + attest->size);
  out.certify_signature = CVM_TRY(convert_signature(*signature));
  return out;
}

Result<Bytes> ephemeral_decrypt(const Tpm& tpm, const EphemeralKeyOptions& options, DecryptScheme scheme,
                                ByteView ciphertext) {
  CVM_TRY(validate_selection(options.pcrs));
  TPM2B_PUBLIC_KEY_RSA input{};
  if (ciphertext.empty() || ciphertext.size() > sizeof input.buffer) {
    return fail(Errc::invalid_argument, "the ciphertext is " + std::to_string(ciphertext.size()) +
                                            " bytes; an RSA-2048 ciphertext is 256");
  }
  input.size = static_cast<std::uint16_t>(ciphertext.size());
  std::memcpy(input.buffer, ciphertext.data(), ciphertext.size());

  TPM2B_DIGEST policy{};
  if (options.policy_digest.empty()) {
    policy = CVM_TRY(pcr_policy_digest(tpm, options.pcrs));
  } else if (options.policy_digest.size() == digest_size(TPM2_ALG_SHA256)) {
    policy.size = static_cast<std::uint16_t>(options.policy_digest.size());
    std::memcpy(policy.buffer, options.policy_digest.data(), options.policy_digest.size());
  } else {
    return fail(Errc::invalid_argument, "the ephemeral key's policy digest is " +
                                            std::to_string(options.policy_digest.size()) + " bytes, not 32");
  }
  CreatedPrimary key = CVM_TRY(create_primary(tpm, ESYS_TR_RH_NULL, ephemeral_template(policy), "ephemeral key"));

  EsysHandle session = CVM_TRY(start_session(tpm, TPM2_SE_POLICY));
  CVM_TRY(policy_pcr(tpm, session, options.pcrs));

  TPMT_RSA_DECRYPT in_scheme = decrypt_scheme(scheme);
  TPM2B_DATA label{};
  TPM2B_PUBLIC_KEY_RSA* raw_message = nullptr;
  auto decrypted = tpm.call("RSA_Decrypt", std::string("ephemeral key, ") + std::string(decrypt_scheme_name(scheme)),
                            [&] {
                              return Esys_RSA_Decrypt(tpm.esys(), key.handle.get(), session.get(), ESYS_TR_NONE,
                                                      ESYS_TR_NONE, &input, &in_scheme, &label, &raw_message);
                            });
  if (!decrypted) {
    Error error = std::move(decrypted).error();
    auto tpm_rc = tpm_response_code(static_cast<TSS2_RC>(error.cause.code));
    if (tpm_rc && tpm_error_number(*tpm_rc) == TPM2_RC_POLICY_FAIL) {
      error.code = Errc::verification_failed;
      error.message += ": PCR values changed since the key was created";
      error.hint = "create a new ephemeral key and attest again";
    } else if (tpm_rc && (tpm_error_number(*tpm_rc) == TPM2_RC_VALUE || *tpm_rc == TPM2_RC_FAILURE)) {
      // The ciphertext was not made for this key, e.g. for the key of an
      // earlier PCR state, so its padding check fails. TPMs report that as
      // TPM_RC_VALUE; libtpms 0.9 with its OpenSSL backend reports TPM_RC_FAILURE.
      error.code = Errc::verification_failed;
      error.message += ": the ciphertext does not decrypt with the current ephemeral key; PCR values may have "
                       "changed since the key was created";
      error.hint = "create a new ephemeral key and attest again";
    }
    return fail(std::move(error));
  }
  EsysPtr<TPM2B_PUBLIC_KEY_RSA> message(raw_message);
  Bytes out(message->buffer, message->buffer + message->size);
  OPENSSL_cleanse(message->buffer, message->size);
  return out;
}

}  // namespace cvm::vtpm
