// RSA public keys from their modulus and exponent, as JWKs and TPM2B_PUBLIC carry them.
#pragma once

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "common/openssl.hpp"

namespace cvm::ossl {

// RSA moduli below this many bits are rejected: the vTPM AK and EK are
// 2048-bit, and anything shorter offers no signature security.
inline constexpr std::size_t kMinRsaBits = 1024;
inline constexpr std::size_t kMaxRsaBits = 16384;

// Builds an EVP_PKEY from a big-endian modulus and exponent. Leading zero
// bytes are allowed. Errors: Errc::invalid_data for an empty, even or
// out-of-range modulus or an exponent that is even or below 3.
[[nodiscard]] Result<UniquePkey> rsa_public_key(ByteView modulus, ByteView exponent);

// Verifies an RSASSA-PKCS1-v1_5 signature with SHA-256 over `message`.
// Errc::verification_failed when the signature does not match.
[[nodiscard]] Result<void> verify_rsassa_sha256(EVP_PKEY* key, ByteView message, ByteView signature);

}  // namespace cvm::ossl
