#include "report/eventlog.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>

#include "common/openssl.hpp"

namespace cvm::report {
namespace {

// TCG_EfiSpecIdEvent.signature of a crypto-agile log, NUL included.
constexpr std::string_view kSpecIdSignature{"Spec ID Event03\0", 16};
// TCG_EfiStartupLocalityEvent.Signature, NUL included; the locality byte follows.
constexpr std::string_view kStartupLocalitySignature{"StartupLocality\0", 16};
constexpr std::size_t kSha1DigestSize = 20;
// pcr_index, event_type, digest count and event_size of an event with no digests or data.
constexpr std::size_t kSmallestAgileEvent = 16;
// pcr_index, event_type, SHA-1 digest and event_size of an event with no data.
constexpr std::size_t kSmallestLegacyEvent = 32;

std::string hex_offset(std::size_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "0x%zx", value);
  return buffer;
}

Error log_error(std::string message, std::string field, std::size_t offset) {
  return std::move(Error{.code = Errc::invalid_data, .message = "event log: " + std::move(message)})
      .at(std::move(field), offset);
}

bool starts_with(ByteView data, std::string_view prefix) {
  return data.size() >= prefix.size() && std::memcmp(data.data(), prefix.data(), prefix.size()) == 0;
}

Result<ByteView> read_event_data(ByteReader& reader, const EventLogLimits& limits) {
  std::size_t size_offset = reader.offset();
  std::uint32_t size = CVM_TRY(reader.u32le("event_size"));
  if (size > limits.max_event_size) {
    return fail(log_error("event data size " + std::to_string(size) + " exceeds the limit of " +
                              std::to_string(limits.max_event_size) + " bytes",
                          "event_size", size_offset));
  }
  return reader.bytes(size, "event_data");
}

// Reads a TCG_PCR_EVENT: the SHA-1-only record of legacy logs and of the
// crypto-agile header.
Result<Event> read_legacy_event(ByteReader& reader, const EventLogLimits& limits) {
  Event event;
  event.offset = reader.offset();
  event.pcr_index = CVM_TRY(reader.u32le("pcr_index"));
  event.event_type = CVM_TRY(reader.u32le("event_type"));
  ByteView digest = CVM_TRY(reader.bytes(kSha1DigestSize, "digest"));
  event.digests.push_back(EventDigest{.algorithm_id = kAlgSha1, .value = Bytes(digest.begin(), digest.end())});
  ByteView data = CVM_TRY(read_event_data(reader, limits));
  event.data.assign(data.begin(), data.end());
  return event;
}

Result<SpecIdEvent> parse_spec_id(ByteView data, std::size_t base, const EventLogLimits& limits) {
  ByteReader reader(data, base);
  SpecIdEvent spec;
  CVM_TRY(reader.skip(kSpecIdSignature.size(), "spec_id.signature"));
  spec.platform_class = CVM_TRY(reader.u32le("spec_id.platform_class"));
  spec.spec_version_minor = CVM_TRY(reader.u8("spec_id.spec_version_minor"));
  spec.spec_version_major = CVM_TRY(reader.u8("spec_id.spec_version_major"));
  spec.spec_errata = CVM_TRY(reader.u8("spec_id.spec_errata"));
  spec.uintn_size = CVM_TRY(reader.u8("spec_id.uintn_size"));

  std::size_t count_offset = reader.offset();
  std::uint32_t count = CVM_TRY(reader.u32le("spec_id.number_of_algorithms"));
  if (count == 0 || count > limits.max_algorithms) {
    return fail(log_error("the Spec ID event declares " + std::to_string(count) +
                              " algorithms (accepted: 1 to " + std::to_string(limits.max_algorithms) + ")",
                          "spec_id.number_of_algorithms", count_offset));
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    std::size_t entry_offset = reader.offset();
    DeclaredAlgorithm algorithm;
    algorithm.algorithm_id = CVM_TRY(reader.u16le("spec_id.algorithm_id"));
    algorithm.digest_size = CVM_TRY(reader.u16le("spec_id.digest_size"));
    auto standard = standard_digest_size(algorithm.algorithm_id);
    if (algorithm.digest_size == 0 || (standard && *standard != algorithm.digest_size)) {
      return fail(log_error("the Spec ID event declares " + algorithm_name(algorithm.algorithm_id) +
                                " with a digest size of " + std::to_string(algorithm.digest_size),
                            "spec_id.digest_size", entry_offset + 2));
    }
    for (const DeclaredAlgorithm& earlier : spec.algorithms) {
      if (earlier.algorithm_id == algorithm.algorithm_id) {
        return fail(log_error("the Spec ID event declares " + algorithm_name(algorithm.algorithm_id) +
                                  " twice",
                              "spec_id.algorithm_id", entry_offset));
      }
    }
    spec.algorithms.push_back(algorithm);
  }
  std::uint8_t vendor_size = CVM_TRY(reader.u8("spec_id.vendor_info_size"));
  ByteView vendor = CVM_TRY(reader.bytes(vendor_size, "spec_id.vendor_info"));
  spec.vendor_info.assign(vendor.begin(), vendor.end());
  return spec;
}

// Reads a TCG_PCR_EVENT2, whose digest sizes come from the Spec ID event.
Result<Event> read_agile_event(ByteReader& reader, const SpecIdEvent& spec, const EventLogLimits& limits) {
  Event event;
  event.offset = reader.offset();
  event.pcr_index = CVM_TRY(reader.u32le("pcr_index"));
  event.event_type = CVM_TRY(reader.u32le("event_type"));
  std::size_t count_offset = reader.offset();
  std::uint32_t count = CVM_TRY(reader.u32le("digest_count"));
  if (count > spec.algorithms.size()) {
    return fail(log_error("event at " + hex_offset(event.offset) + " carries " + std::to_string(count) +
                              " digests but the Spec ID event declares only " +
                              std::to_string(spec.algorithms.size()) + " algorithms",
                          "digest_count", count_offset));
  }
  for (std::uint32_t i = 0; i < count; ++i) {
    std::size_t algorithm_offset = reader.offset();
    std::uint16_t algorithm_id = CVM_TRY(reader.u16le("digest.algorithm_id"));
    auto declared = std::find_if(spec.algorithms.begin(), spec.algorithms.end(),
                                 [&](const DeclaredAlgorithm& a) { return a.algorithm_id == algorithm_id; });
    if (declared == spec.algorithms.end()) {
      return fail(log_error("event at " + hex_offset(event.offset) + " has a digest for algorithm " +
                                algorithm_name(algorithm_id) + ", which the Spec ID event does not declare",
                            "digest.algorithm_id", algorithm_offset));
    }
    if (event.digest(algorithm_id) != nullptr) {
      return fail(log_error("event at " + hex_offset(event.offset) + " has two " +
                                algorithm_name(algorithm_id) + " digests",
                            "digest.algorithm_id", algorithm_offset));
    }
    ByteView value = CVM_TRY(reader.bytes(declared->digest_size, "digest.value"));
    event.digests.push_back(EventDigest{.algorithm_id = algorithm_id, .value = Bytes(value.begin(), value.end())});
  }
  ByteView data = CVM_TRY(read_event_data(reader, limits));
  event.data.assign(data.begin(), data.end());
  return event;
}

const EVP_MD* message_digest(std::uint16_t algorithm_id) {
  switch (algorithm_id) {
    case kAlgSha1: return EVP_sha1();
    case kAlgSha256: return EVP_sha256();
    case kAlgSha384: return EVP_sha384();
    case kAlgSha512: return EVP_sha512();
    default: return nullptr;
  }
}

}  // namespace

const EventDigest* Event::digest(std::uint16_t algorithm_id) const {
  for (const EventDigest& entry : digests) {
    if (entry.algorithm_id == algorithm_id) {
      return &entry;
    }
  }
  return nullptr;
}

std::vector<DeclaredAlgorithm> EventLog::banks() const {
  if (spec_id) {
    return spec_id->algorithms;
  }
  return {DeclaredAlgorithm{.algorithm_id = kAlgSha1, .digest_size = kSha1DigestSize}};
}

Result<EventLog> parse_event_log(ByteView data, const EventLogLimits& limits) {
  EventLog log;
  ByteReader reader(data);
  if (reader.empty()) {
    return fail(log_error("the log is empty", "pcr_index", 0));
  }

  Event first = CVM_TRY(read_legacy_event(reader, limits));
  if (first.event_type == kEvNoAction && starts_with(first.data, kSpecIdSignature)) {
    std::size_t data_offset = reader.offset() - first.data.size();
    log.spec_id = CVM_TRY(parse_spec_id(first.data, data_offset, limits));
    log.format = EventLogFormat::crypto_agile;
  }
  log.events.push_back(std::move(first));

  while (!reader.empty()) {
    // Logs copied from the firmware's log area keep its zero-filled tail. A
    // zero run shorter than the smallest event is a truncated event instead.
    ByteView rest = data.subspan(reader.offset());
    std::size_t smallest = log.spec_id ? kSmallestAgileEvent : kSmallestLegacyEvent;
    if (rest.size() >= smallest && all_zero(rest)) {
      log.padding_size = rest.size();
      break;
    }
    if (log.events.size() >= limits.max_events) {
      return fail(log_error("more than " + std::to_string(limits.max_events) + " events", "pcr_index",
                            reader.offset()));
    }
    Event event = log.spec_id ? CVM_TRY(read_agile_event(reader, *log.spec_id, limits))
                              : CVM_TRY(read_legacy_event(reader, limits));
    event.index = log.events.size();
    log.events.push_back(std::move(event));
  }
  return log;
}

Bytes initial_pcr_value(std::uint32_t pcr_index, std::size_t digest_size) {
  // PCRs 17 to 22 are reserved for dynamic launch and reset to all ones at
  // TPM startup (PC Client Platform TPM Profile, PCR attributes table).
  std::uint8_t fill = pcr_index >= 17 && pcr_index <= 22 ? 0xff : 0x00;
  return Bytes(digest_size, fill);
}

Result<PcrBank> replay_event_log(const EventLog& log, std::uint16_t algorithm_id) {
  std::vector<DeclaredAlgorithm> banks = log.banks();
  auto bank = std::find_if(banks.begin(), banks.end(),
                           [&](const DeclaredAlgorithm& a) { return a.algorithm_id == algorithm_id; });
  if (bank == banks.end()) {
    return fail(Error{.code = Errc::not_found,
                      .message = "the event log has no " + algorithm_name(algorithm_id) + " bank",
                      .hint = "choose one of the banks the log declares"});
  }
  if (message_digest(algorithm_id) == nullptr) {
    return fail(Errc::unsupported, "cannot replay the " + algorithm_name(algorithm_id) +
                                       " bank: the hash algorithm is not supported");
  }

  PcrBank result;
  result.algorithm_id = algorithm_id;
  for (const Event& event : log.events) {
    if (event.event_type == kEvNoAction && event.pcr_index == 0 &&
        event.data.size() > kStartupLocalitySignature.size() &&
        starts_with(event.data, kStartupLocalitySignature)) {
      Bytes value = initial_pcr_value(0, bank->digest_size);
      value.back() = event.data[kStartupLocalitySignature.size()];
      result.values[0] = std::move(value);
      break;
    }
  }

  for (const Event& event : log.events) {
    if (event.event_type == kEvNoAction) {
      continue;
    }
    if (event.pcr_index >= kPcrCount) {
      return fail(log_error("event " + std::to_string(event.index) + " extends PCR " +
                                std::to_string(event.pcr_index) + ", but a TPM has PCRs 0 to 23",
                            "pcr_index", event.offset));
    }
    const EventDigest* digest = event.digest(algorithm_id);
    if (digest == nullptr) {
      return fail(log_error("event " + std::to_string(event.index) + " has no " +
                                algorithm_name(algorithm_id) + " digest",
                            "digests", event.offset + 8));
    }
    auto [slot, inserted] = result.values.try_emplace(event.pcr_index, Bytes{});
    if (inserted) {
      slot->second = initial_pcr_value(event.pcr_index, bank->digest_size);
    }
    Bytes input = slot->second;
    input.insert(input.end(), digest->value.begin(), digest->value.end());
    slot->second = CVM_TRY(hash_with(algorithm_id, input));
  }
  return result;
}

Result<Bytes> hash_with(std::uint16_t algorithm_id, ByteView data) {
  const EVP_MD* md = message_digest(algorithm_id);
  if (md == nullptr) {
    return fail(Errc::unsupported, "hash algorithm " + algorithm_name(algorithm_id) + " is not supported");
  }
  Bytes out(static_cast<std::size_t>(EVP_MD_get_size(md)));
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "EVP_Digest failed for " + algorithm_name(algorithm_id)));
  }
  out.resize(size);
  return out;
}

std::optional<std::size_t> standard_digest_size(std::uint16_t algorithm_id) {
  switch (algorithm_id) {
    case kAlgSha1: return 20;
    case kAlgSha256: return 32;
    case kAlgSha384: return 48;
    case kAlgSha512: return 64;
    default: return std::nullopt;
  }
}

std::string algorithm_name(std::uint16_t algorithm_id) {
  switch (algorithm_id) {
    case kAlgSha1: return "sha1";
    case kAlgSha256: return "sha256";
    case kAlgSha384: return "sha384";
    case kAlgSha512: return "sha512";
    default: {
      char buffer[16];
      std::snprintf(buffer, sizeof buffer, "0x%04x", algorithm_id);
      return buffer;
    }
  }
}

Result<std::uint16_t> parse_algorithm_name(std::string_view name) {
  std::string normalized;
  for (char c : name) {
    if (c != '-' && c != '_') {
      normalized.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  for (std::uint16_t id : {kAlgSha1, kAlgSha256, kAlgSha384, kAlgSha512}) {
    if (normalized == algorithm_name(id)) {
      return id;
    }
  }
  return fail(Error{.code = Errc::invalid_argument,
                    .message = "unknown hash algorithm \"" + std::string(name) + "\"",
                    .hint = "use sha1, sha256, sha384 or sha512"});
}

}  // namespace cvm::report
