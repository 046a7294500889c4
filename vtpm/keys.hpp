// TPM keys: the Azure attestation key (AK), its certificate, and the
// PCR-bound ephemeral encryption key that attestation services encrypt to.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <optional>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "common/openssl.hpp"
#include "vtpm/pcr.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::vtpm {

// Attributes an Azure AK carries and this module requires of it.
inline constexpr TPMA_OBJECT kRequiredAkAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT |
                                                     TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
                                                     TPMA_OBJECT_SENSITIVEDATAORIGIN;

// A TPM public key in both its TPM form and as an OpenSSL key.
struct PublicKey {
  Bytes tpm2b_public;  // marshalled TPM2B_PUBLIC, size prefix included
  ossl::UniquePkey key;
  TPMA_OBJECT attributes = 0;
};

// Builds an OpenSSL RSA key from a TPMT_PUBLIC of type RSA; exponent 0 means 65537.
[[nodiscard]] Result<ossl::UniquePkey> rsa_public_key(const TPMT_PUBLIC& public_area);

// Parses a marshalled TPM2B_PUBLIC of an RSA key into its OpenSSL form; the
// whole input must be consumed.
[[nodiscard]] Result<PublicKey> parse_tpm2b_public(ByteView tpm2b_public);

// ReadPublic of the AK. Fails with Errc::not_found when there is no object at
// `handle`, and with Errc::verification_failed when the object is not an RSA
// key with every attribute of kRequiredAkAttributes (and no decrypt).
[[nodiscard]] Result<PublicKey> read_ak_public(const Tpm& tpm, TPM2_HANDLE handle = kAkHandle);

// The AK certificate (X.509 DER) from NV 0x01C101D0, or nullopt when that
// index is absent or was never written. Both happen on Azure VMs whose AK
// certificate has not been provisioned yet.
[[nodiscard]] Result<std::optional<Bytes>> read_ak_certificate(const Tpm& tpm);

// Creates an AK the way the Azure paravisor provisions one (RSA-2048,
// restricted signing with RSASSA-SHA256, userWithAuth, noDA, fixedTPM,
// fixedParent, sensitiveDataOrigin) as an owner-hierarchy primary key and
// persists it at `handle`. For emulated vTPMs and tests; fails with
// Errc::invalid_argument when `handle` is already taken.
[[nodiscard]] Result<void> provision_ak(const Tpm& tpm, TPM2_HANDLE handle = kAkHandle);

// ---- Ephemeral key -------------------------------------------------------------

struct EphemeralKeyOptions {
  // PCRs whose current values the key's policy (TPM2_PolicyPCR) requires.
  PcrSelection pcrs;
  TPM2_HANDLE ak = kAkHandle;
  // For decryption: the policy digest the key was created with
  // (EphemeralKey::policy_digest). With it, the same key is recreated, so a
  // changed PCR fails the policy check. Without it, the key is derived from
  // the current PCR values, so a changed PCR yields a different key.
  Bytes policy_digest;
};

struct EphemeralKey {
  PublicKey public_key;
  Bytes policy_digest;      // the key's authPolicy
  Bytes certify_info;       // TPMS_ATTEST from TPM2_Certify by the AK (attestationData only)
  Signature certify_signature;
};

// Creates the ephemeral key as a primary key in the NULL hierarchy (RSA-2048,
// decrypt, fixedTPM, fixedParent, sensitiveDataOrigin, noDA, no userWithAuth,
// symmetric and scheme NULL, exponent 0, unique = 256 zero bytes, nameAlg
// SHA-256, authPolicy = PolicyPCR over `options.pcrs`), so the same template
// gives the same key until the TPM is reset. Certifies it with the AK and
// flushes it before returning.
[[nodiscard]] Result<EphemeralKey> create_ephemeral_key(const Tpm& tpm, const EphemeralKeyOptions& options = {});

enum class DecryptScheme { rsaes, oaep_sha1, oaep_sha256, oaep_sha384 };

[[nodiscard]] std::string_view decrypt_scheme_name(DecryptScheme scheme);

// Recreates the ephemeral key and decrypts `ciphertext` with it under a
// PolicyPCR session (OAEP with an empty label). When a PCR of the policy has
// changed since the key was created, fails with Errc::verification_failed:
// through TPM_RC_POLICY_FAIL when `options.policy_digest` is set, otherwise
// through the padding check of the different key (TPM_RC_VALUE).
[[nodiscard]] Result<Bytes> ephemeral_decrypt(const Tpm& tpm, const EphemeralKeyOptions& options,
                                              DecryptScheme scheme, ByteView ciphertext);

}  // namespace cvm::vtpm
