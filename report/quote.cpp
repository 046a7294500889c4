#include "report/quote.hpp"

#include <algorithm>
#include <cstdio>

#include "report/eventlog.hpp"
#include "common/rsa.hpp"

namespace cvm::report {
namespace {

std::string hex_offset(std::size_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", value);
  return buffer;
}

Error attest_error(Errc code, std::string message, std::string field, std::size_t offset) {
  return std::move(Error{.code = code, .message = "TPMS_ATTEST: " + std::move(message)})
      .at(std::move(field), offset);
}

// Reads a TPM2B: a big-endian u16 size and that many bytes, at most `max_size`.
Result<Bytes> read_sized(ByteReader& reader, std::size_t max_size, const std::string& field) {
  std::size_t offset = reader.offset();
  std::uint16_t size = CVM_TRY(reader.u16be(field + ".size"));
  if (size > max_size) {
    return fail(attest_error(Errc::invalid_data,
                             field + " has " + std::to_string(size) + " bytes, more than the " +
                                 std::to_string(max_size) + " a TPM produces",
                             field + ".size", offset));
  }
  ByteView value = CVM_TRY(reader.bytes(size, field));
  return Bytes(value.begin(), value.end());
}

Result<PcrSelection> read_pcr_selection(ByteReader& reader) {
  PcrSelection selection;
  selection.hash_algorithm = CVM_TRY(reader.u16be("pcr_selection.hash"));
  std::size_t size_offset = reader.offset();
  std::uint8_t size = CVM_TRY(reader.u8("pcr_selection.sizeof_select"));
  if (size > kMaxPcrSelectSize) {
    return fail(attest_error(Errc::invalid_data,
                             "a PCR select bitmap of " + std::to_string(size) + " bytes exceeds " +
                                 std::to_string(kMaxPcrSelectSize),
                             "pcr_selection.sizeof_select", size_offset));
  }
  ByteView select = CVM_TRY(reader.bytes(size, "pcr_selection.pcr_select"));
  selection.select.assign(select.begin(), select.end());
  for (std::size_t byte = 0; byte < select.size(); ++byte) {
    for (unsigned bit = 0; bit < 8; ++bit) {
      if ((select[byte] >> bit) & 1u) {
        selection.pcrs.push_back(static_cast<std::uint32_t>(byte * 8 + bit));
      }
    }
  }
  return selection;
}

Result<QuoteInfo> read_quote_info(ByteReader& reader) {
  QuoteInfo info;
  std::size_t count_offset = reader.offset();
  std::uint32_t count = CVM_TRY(reader.u32be("pcr_select.count"));
  if (count > kMaxPcrSelections) {
    return fail(attest_error(Errc::invalid_data,
                             std::to_string(count) + " PCR selections exceed the limit of " +
                                 std::to_string(kMaxPcrSelections),
                             "pcr_select.count", count_offset));
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    info.selections.push_back(CVM_TRY(read_pcr_selection(reader)));
  }
  info.pcr_digest = CVM_TRY(read_sized(reader, kMaxDigestSize, "pcr_digest"));
  return info;
}

Result<CertifyInfo> read_certify_info(ByteReader& reader) {
  CertifyInfo info;
  info.name = CVM_TRY(read_sized(reader, kMaxNameSize, "certify.name"));
  info.qualified_name = CVM_TRY(read_sized(reader, kMaxNameSize, "certify.qualified_name"));
  return info;
}

}  // namespace

Result<Attest> parse_attest(ByteView data) {
  Attest attest;
  attest.raw.assign(data.begin(), data.end());
  ByteReader reader(data);

  std::uint32_t magic = CVM_TRY(reader.u32be("magic"));
  if (magic != kTpmGeneratedValue) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "magic is 0x%08x, not TPM_GENERATED_VALUE 0xff544347", magic);
    return fail(attest_error(Errc::invalid_data, buffer, "magic", 0)
                    .with_hint("pass the attestation data a TPM returned, without the TPM2B size"));
  }
  attest.type = CVM_TRY(reader.u16be("type"));
  if (attest.type != kTpmStAttestQuote && attest.type != kTpmStAttestCertify) {
    char buffer[96];
    std::snprintf(buffer, sizeof buffer,
                  "unsupported attestation type 0x%04x (handled: quote 0x8018, certify 0x8017)", attest.type);
    return fail(attest_error(Errc::unsupported, buffer, "type", 4));
  }
  attest.qualified_signer = CVM_TRY(read_sized(reader, kMaxNameSize, "qualified_signer"));
  attest.extra_data = CVM_TRY(read_sized(reader, kMaxDataSize, "extra_data"));
  attest.clock_info.clock = CVM_TRY(reader.u64be("clock_info.clock"));
  attest.clock_info.reset_count = CVM_TRY(reader.u32be("clock_info.reset_count"));
  attest.clock_info.restart_count = CVM_TRY(reader.u32be("clock_info.restart_count"));
  std::size_t safe_offset = reader.offset();
  std::uint8_t safe = CVM_TRY(reader.u8("clock_info.safe"));
  if (safe > 1) {
    return fail(attest_error(Errc::invalid_data, "clockInfo.safe is " + std::to_string(safe) + ", not 0 or 1",
                             "clock_info.safe", safe_offset));
  }
  attest.clock_info.safe = safe == 1;
  attest.firmware_version = CVM_TRY(reader.u64be("firmware_version"));

  if (attest.type == kTpmStAttestQuote) {
    attest.quote = CVM_TRY(read_quote_info(reader));
  } else {
    attest.certify = CVM_TRY(read_certify_info(reader));
  }
  if (!reader.empty()) {
    return fail(attest_error(Errc::invalid_data,
                             std::to_string(reader.remaining()) + " bytes follow the structure at " +
                                 hex_offset(reader.offset()),
                             "trailing", reader.offset()));
  }
  return attest;
}

Result<void> verify_attest_signature(ByteView attest_bytes, ByteView signature, EVP_PKEY* key) {
  auto verified = ossl::verify_rsassa_sha256(key, attest_bytes, signature);
  if (!verified) {
    return std::unexpected(std::move(verified).error().prefixed("TPM attestation signature"));
  }
  return {};
}

Result<Bytes> compute_pcr_digest(std::span<const Bytes> pcr_values, std::uint16_t digest_algorithm) {
  Bytes concatenated;
  for (const Bytes& value : pcr_values) {
    concatenated.insert(concatenated.end(), value.begin(), value.end());
  }
  return hash_with(digest_algorithm, concatenated);
}

Result<void> verify_pcr_digest(const QuoteInfo& quote, std::span<const Bytes> pcr_values,
                               std::uint16_t digest_algorithm) {
  std::size_t selected = 0;
  for (const PcrSelection& selection : quote.selections) {
    selected += selection.pcrs.size();
  }
  if (pcr_values.size() != selected) {
    return fail(Errc::invalid_argument, "the quote selects " + std::to_string(selected) + " PCRs but " +
                                            std::to_string(pcr_values.size()) + " values were given");
  }
  std::size_t position = 0;
  for (const PcrSelection& selection : quote.selections) {
    auto size = standard_digest_size(selection.hash_algorithm);
    for (std::uint32_t pcr : selection.pcrs) {
      const Bytes& value = pcr_values[position++];
      if (size && value.size() != *size) {
        return fail(Errc::invalid_argument,
                    "PCR " + std::to_string(pcr) + " of the " + algorithm_name(selection.hash_algorithm) +
                        " bank has " + std::to_string(value.size()) + " bytes, not " + std::to_string(*size));
      }
    }
  }
  Bytes digest = CVM_TRY(compute_pcr_digest(pcr_values, digest_algorithm));
  if (digest != quote.pcr_digest) {
    return fail(Errc::verification_failed,
                "the PCR values do not match the quote: their " + algorithm_name(digest_algorithm) +
                    " digest is " + hex_encode(digest) + " but the quote's pcrDigest is " +
                    hex_encode(quote.pcr_digest));
  }
  return {};
}

Result<Attest> verify_quote(ByteView attest_bytes, ByteView signature, EVP_PKEY* key,
                            std::optional<ByteView> expected_nonce, std::span<const Bytes> pcr_values) {
  Attest attest = CVM_TRY(parse_attest(attest_bytes));
  if (!attest.quote) {
    return fail(Errc::invalid_data, "the attestation is not a quote (type 0x8017, certify)");
  }
  CVM_TRY(verify_attest_signature(attest_bytes, signature, key));
  if (expected_nonce &&
      !std::equal(expected_nonce->begin(), expected_nonce->end(), attest.extra_data.begin(),
                  attest.extra_data.end())) {
    return fail(Errc::verification_failed, "the quote's nonce (extraData) is " + hex_encode(attest.extra_data) +
                                               ", not the expected " + hex_encode(*expected_nonce));
  }
  CVM_TRY(verify_pcr_digest(*attest.quote, pcr_values));
  return attest;
}

}  // namespace cvm::report
