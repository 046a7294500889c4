// Microsoft Azure Attestation (MAA): requests, responses and token decryption.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "client/http.hpp"
#include "client/retry.hpp"
#include "common/bytes.hpp"

namespace cvm::client {

enum class Protocol { azure_guest, sev_snp_vm };

[[nodiscard]] std::string_view protocol_name(Protocol protocol);  // "azure-guest", "sevsnpvm"
[[nodiscard]] Result<Protocol> parse_protocol(std::string_view name);

// `{endpoint}/attest/AzureGuest?api-version=2020-10-01` or
// `{endpoint}/attest/SevSnpVm?api-version=2022-08-01`; the endpoint's path and
// query are replaced, its scheme, host and port kept.
[[nodiscard]] Result<std::string> attestation_url(std::string_view endpoint, Protocol protocol);

// The encrypted token an AzureGuest attestation returns: base64url (or base64)
// JSON whose `Jwt` is AES-GCM ciphertext under a key that is RSA-encrypted to
// the TPM ephemeral key.
struct EncryptedToken {
  Bytes encrypted_inner_key;
  Bytes iv;
  Bytes tag;         // AuthenticationData
  Bytes ciphertext;  // Jwt
  int key_size_bits = 0;
};

// Reads `{"token": "..."}`.
[[nodiscard]] Result<std::string> parse_token_response(std::string_view body);
[[nodiscard]] Result<EncryptedToken> parse_encrypted_token(std::string_view token);

// Recovers the AES key from EncryptedInnerKey; the agent does this in the TPM
// with the ephemeral key and RSAES.
using KeyUnwrapper = std::function<Result<Bytes>(ByteView encrypted_key)>;

// AES-GCM decryption with the additional data "Transport Key"; returns the JWT.
[[nodiscard]] Result<std::string> decrypt_token(const EncryptedToken& token, const KeyUnwrapper& unwrap);

// The typed error for a failed attestation request. MAA sends
// `{"error":{"code","message"}}` for attestation and policy failures and
// `{"Error":{"Code","Message"}}` for server errors; either becomes the error's
// cause text, with the service's code first.
[[nodiscard]] Error service_error(const HttpRequest& request, const HttpResponse& response);

struct AttestOptions {
  std::string endpoint;  // e.g. https://sharedeus2.eus2.attest.azure.net
  Protocol protocol = Protocol::azure_guest;
  HttpOptions http;
  RetryPolicy retry;
  RetryContext retry_context;
};

// POSTs the request body and returns the token string from the response
// (still encrypted for AzureGuest).
[[nodiscard]] Result<std::string> post_evidence(const AttestOptions& options, std::string body);

}  // namespace cvm::client
