// TCG event logs as firmware leaves them for the OS
// (/sys/kernel/security/tpm0/binary_bios_measurements): parsing and PCR replay.
//
// Formats: TCG PC Client Platform Firmware Profile Specification (version
// 1.05), section 10: the crypto-agile log (a SHA-1-format TCG_PCR_EVENT
// carrying the "Spec ID Event03" header, then TCG_PCR_EVENT2 records with
// one digest per declared algorithm) and the legacy SHA-1-only log
// (TCG_PCR_EVENT records only). All integers are little-endian.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::report {

// TPM_ALG_ID values of the hash algorithms a log may carry (TPM 2.0 Part 2, table 9).
inline constexpr std::uint16_t kAlgSha1 = 0x0004;
inline constexpr std::uint16_t kAlgSha256 = 0x000b;
inline constexpr std::uint16_t kAlgSha384 = 0x000c;
inline constexpr std::uint16_t kAlgSha512 = 0x000d;

inline constexpr std::size_t kPcrCount = 24;

// Event types this module interprets.
inline constexpr std::uint32_t kEvNoAction = 0x00000003;
inline constexpr std::uint32_t kEvSeparator = 0x00000004;

// Bounds on what a log may make the parser allocate. Firmware logs
// typically have a few hundred events of at most tens of kilobytes each.
// NOTE: the values are generous guesses, not taken from a specification.
struct EventLogLimits {
  std::size_t max_events = 100000;
  std::size_t max_event_size = 16u << 20;
  std::size_t max_algorithms = 16;
};

// A digest algorithm as the Spec ID event declares it.
struct DeclaredAlgorithm {
  std::uint16_t algorithm_id = 0;
  std::uint16_t digest_size = 0;
};

struct SpecIdEvent {
  std::uint32_t platform_class = 0;
  std::uint8_t spec_version_minor = 0;
  std::uint8_t spec_version_major = 0;
  std::uint8_t spec_errata = 0;
  std::uint8_t uintn_size = 0;  // 1 for 32-bit UINTN, 2 for 64-bit
  std::vector<DeclaredAlgorithm> algorithms;
  Bytes vendor_info;
};

struct EventDigest {
  std::uint16_t algorithm_id = 0;
  Bytes value;
};

struct Event {
  std::size_t index = 0;   // position in the log, counting the header event as 0
  std::size_t offset = 0;  // byte offset of the event's first field
  std::uint32_t pcr_index = 0;
  std::uint32_t event_type = 0;
  std::vector<EventDigest> digests;
  Bytes data;

  // The digest for `algorithm_id`, or nullptr.
  [[nodiscard]] const EventDigest* digest(std::uint16_t algorithm_id) const;
};

enum class EventLogFormat { crypto_agile, legacy_sha1 };

struct EventLog {
  EventLogFormat format = EventLogFormat::legacy_sha1;
  std::optional<SpecIdEvent> spec_id;  // crypto-agile logs only
  std::vector<Event> events;           // including the header event
  // Zero bytes after the last event, as in a copy of the firmware's whole log area.
  std::size_t padding_size = 0;

  // The banks the log carries: the declared algorithms, or SHA-1 for a legacy log.
  [[nodiscard]] std::vector<DeclaredAlgorithm> banks() const;
};

// Parses a log. An event whose type or body this module does not decode is
// kept opaque. Zero bytes at the end, at least as many as the smallest
// event needs, are padding rather than events.
//
// Errors are Errc::invalid_data naming the field and its offset. They cover
// truncation anywhere and a malformed Spec ID event, including one that
// declares a standard algorithm with the wrong digest size or an algorithm
// twice. An event with a digest of an undeclared algorithm, with two digests
// of one algorithm or with more digests than declared algorithms is an
// error, and so are counts or sizes over `limits`.
[[nodiscard]] Result<EventLog> parse_event_log(ByteView data, const EventLogLimits& limits = {});

// PCR values replayed from a log for one bank.
struct PcrBank {
  std::uint16_t algorithm_id = 0;
  // Every PCR the log extends, plus PCR 0 when a StartupLocality event sets it.
  std::map<std::uint32_t, Bytes> values;
};

// Replays the log into one bank. PCRs start as zeros, except PCRs 17 to 22,
// which start as all 0xFF, and PCR 0, which starts with the locality in its
// last byte when the log has a StartupLocality event for PCR 0 (the first
// one counts).
// EV_NO_ACTION events are not extended. Errors: Errc::not_found when the
// log has no such bank, Errc::unsupported for an algorithm this module
// cannot compute, Errc::invalid_data for an event without a digest of the
// bank or one that extends a PCR above 23.
[[nodiscard]] Result<PcrBank> replay_event_log(const EventLog& log, std::uint16_t algorithm_id);

// The value of a PCR after a TPM reset at locality 0, before any extend.
[[nodiscard]] Bytes initial_pcr_value(std::uint32_t pcr_index, std::size_t digest_size);

// Hashes `data` with a TPM hash algorithm (SHA-1, SHA-256, SHA-384, SHA-512).
[[nodiscard]] Result<Bytes> hash_with(std::uint16_t algorithm_id, ByteView data);
[[nodiscard]] std::optional<std::size_t> standard_digest_size(std::uint16_t algorithm_id);

// "sha1", "sha256", ... for the standard algorithms, "0x0012" otherwise.
[[nodiscard]] std::string algorithm_name(std::uint16_t algorithm_id);
// Accepts "sha1", "sha256", "sha384", "sha512" (case-insensitive, with or
// without a dash). Errc::invalid_argument for anything else.
[[nodiscard]] Result<std::uint16_t> parse_algorithm_name(std::string_view name);

// "EV_SEPARATOR", "EV_EFI_VARIABLE_BOOT", ... or "EV_UNKNOWN_0x...".
[[nodiscard]] std::string event_type_name(std::uint32_t event_type);

// A short human-readable summary of an event's body, or an empty string
// where no decoding is known: the text of action and version events, the
// variable name of EFI variable events, the signature of EV_NO_ACTION events.
[[nodiscard]] std::string describe_event(const Event& event);

}  // namespace cvm::report
