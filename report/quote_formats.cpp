#include "report/quote_formats.hpp"

#include "report/json.hpp"

namespace cvm::report {
namespace {

constexpr std::size_t kSha256Size = 32;

Error format_error(std::string message, std::string field, std::size_t offset) {
  return std::move(Error{.code = Errc::invalid_data, .message = std::move(message)}).at(std::move(field), offset);
}

// Reads a bincode Vec<u8>: a u64-LE length and the bytes, at most `max_size`.
Result<Bytes> read_vector(ByteReader& reader, std::size_t max_size, const std::string& field) {
  std::size_t offset = reader.offset();
  std::uint64_t size = CVM_TRY(reader.u64le(field + ".length"));
  if (size > max_size) {
    return fail(format_error("quote file: " + field + " length " + std::to_string(size) + " exceeds " +
                                 std::to_string(max_size),
                             field + ".length", offset));
  }
  ByteView value = CVM_TRY(reader.bytes(static_cast<std::size_t>(size), field));
  return Bytes(value.begin(), value.end());
}

Result<Bytes> hex_member(const Json::Value& root, const char* name, std::size_t max_size) {
  const Json::Value& value = root[name];
  if (!value.isString()) {
    Error error{.code = Errc::invalid_data,
                .message = std::string("TPM quote JSON: member \"") + name + "\" is missing or not a string"};
    error.field = name;
    return fail(std::move(error));
  }
  auto decoded = hex_decode(value.asString());
  if (!decoded || decoded->size() > max_size) {
    Error error{.code = Errc::invalid_data,
                .message = std::string("TPM quote JSON: member \"") + name + "\" is not hex of at most " +
                           std::to_string(max_size) + " bytes"};
    error.field = name;
    return fail(std::move(error));
  }
  return decoded;
}

}  // namespace

Result<QuoteBundle> parse_az_cvm_vtpm_quote(ByteView data) {
  ByteReader reader(data);
  QuoteBundle bundle;
  bundle.signature = CVM_TRY(read_vector(reader, kMaxQuoteSignatureSize, "signature"));
  bundle.message = CVM_TRY(read_vector(reader, kMaxQuoteMessageSize, "message"));
  std::size_t count_offset = reader.offset();
  std::uint64_t count = CVM_TRY(reader.u64le("pcrs.count"));
  if (count > kMaxQuotePcrs) {
    return fail(format_error("quote file: " + std::to_string(count) + " PCR values exceed " +
                                 std::to_string(kMaxQuotePcrs),
                             "pcrs.count", count_offset));
  }
  for (std::uint64_t i = 0; i < count; ++i) {
    ByteView value = CVM_TRY(reader.bytes(kSha256Size, "pcrs[" + std::to_string(i) + "]"));
    bundle.pcrs.emplace_back(value.begin(), value.end());
  }
  if (!reader.empty()) {
    return fail(format_error("quote file: " + std::to_string(reader.remaining()) + " bytes follow the PCR values",
                             "trailing", reader.offset()));
  }
  return bundle;
}

Result<QuoteBundle> parse_coco_tpm_quote_json(ByteView data) {
  Json::Value root = CVM_TRY(parse_json_object(data, "TPM quote JSON"));
  QuoteBundle bundle;
  bundle.signature = CVM_TRY(hex_member(root, "signature", kMaxQuoteSignatureSize));
  bundle.message = CVM_TRY(hex_member(root, "message", kMaxQuoteMessageSize));
  const Json::Value& pcrs = root["pcrs"];
  if (!pcrs.isArray() || pcrs.size() > kMaxQuotePcrs) {
    Error error{.code = Errc::invalid_data,
                .message = "TPM quote JSON: member \"pcrs\" is not an array of at most " +
                           std::to_string(kMaxQuotePcrs) + " values"};
    error.field = "pcrs";
    return fail(std::move(error));
  }
  for (Json::ArrayIndex i = 0; i < pcrs.size(); ++i) {
    auto value = pcrs[i].isString() ? hex_decode(pcrs[i].asString()) : Result<Bytes>(Bytes{});
    if (!value || value->size() != kSha256Size) {
      Error error{.code = Errc::invalid_data,
                  .message = "TPM quote JSON: pcrs[" + std::to_string(i) + "] is not 64 hex digits"};
      error.field = "pcrs";
      return fail(std::move(error));
    }
    bundle.pcrs.push_back(std::move(*value));
  }
  return bundle;
}

}  // namespace cvm::report
