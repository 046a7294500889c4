// TCG event log parsing and PCR replay: the real GCE SEV-SNP log, and logs
// built here for the edge cases.
#include <gtest/gtest.h>
#include <json/reader.h>

#include <cstring>
#include <map>
#include <memory>
#include <string>

#include "common/openssl.hpp"
#include "report/eventlog.hpp"
#include "tests/support/fixtures.hpp"

namespace cvm::report {
namespace {

using cvm::testing::read_fixture;

constexpr std::uint16_t kAlgSm3 = 0x0012;  // declared with its size, but not computable here
constexpr std::uint32_t kEvPostCode = 0x00000001;
constexpr std::uint32_t kEvEfiAction = 0x80000007;
constexpr std::uint32_t kEvEfiVariableBoot = 0x80000002;

Bytes digest_of(std::uint16_t algorithm, ByteView data) {
  switch (algorithm) {
    case kAlgSha256: return ossl::sha256(data);
    case kAlgSha384: return ossl::sha384(data);
    case kAlgSha512: return ossl::sha512(data);
    case kAlgSha1: {
      Bytes out(20);
      unsigned int size = 0;
      EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &size, EVP_sha1(), nullptr), 1);
      return out;
    }
    default: return Bytes(32, 0x5a);  // a stand-in digest for an algorithm the test cannot compute
  }
}

// A field the builder wrote, for truncation tests.
struct FieldMark {
  std::string field;
  std::size_t offset = 0;
  std::size_t size = 0;
};

// Writes TCG event logs byte by byte, recording where each field starts.
class LogBuilder {
 public:
  // A crypto-agile log: the SHA-1-format header with a Spec ID event.
  static LogBuilder agile(std::vector<DeclaredAlgorithm> algorithms) {
    LogBuilder log;
    log.algorithms_ = algorithms;
    Bytes spec;
    append(spec, "Spec ID Event03", 16);
    put32(spec, 0);  // platform class: client
    spec.push_back(0);  // spec version minor
    spec.push_back(2);  // spec version major
    spec.push_back(0);  // errata
    spec.push_back(2);  // UINTN is 64-bit
    put32(spec, static_cast<std::uint32_t>(algorithms.size()));
    for (const DeclaredAlgorithm& algorithm : algorithms) {
      put16(spec, algorithm.algorithm_id);
      put16(spec, algorithm.digest_size);
    }
    spec.push_back(0);  // vendor info size
    log.add_legacy(0, kEvNoAction, spec, Bytes(20, 0));
    return log;
  }

  static LogBuilder legacy() { return LogBuilder(); }

  // Adds an event whose digests hash its data, as firmware does for most events.
  void add(std::uint32_t pcr, std::uint32_t type, const Bytes& data) {
    if (algorithms_.empty()) {
      add_legacy(pcr, type, data, digest_of(kAlgSha1, data));
      return;
    }
    std::vector<std::pair<std::uint16_t, Bytes>> digests;
    for (const DeclaredAlgorithm& algorithm : algorithms_) {
      Bytes digest = algorithm.algorithm_id == kAlgSm3 ? Bytes(algorithm.digest_size, 0x5a)
                                                       : digest_of(algorithm.algorithm_id, data);
      digests.emplace_back(algorithm.algorithm_id, digest);
    }
    add_agile(pcr, type, digests, data);
  }

  void add_agile(std::uint32_t pcr, std::uint32_t type, const std::vector<std::pair<std::uint16_t, Bytes>>& digests,
                 const Bytes& data) {
    mark("pcr_index", 4);
    put32(bytes_, pcr);
    mark("event_type", 4);
    put32(bytes_, type);
    mark("digest_count", 4);
    put32(bytes_, static_cast<std::uint32_t>(digests.size()));
    for (const auto& [algorithm, value] : digests) {
      mark("digest.algorithm_id", 2);
      put16(bytes_, algorithm);
      mark("digest.value", value.size());
      bytes_.insert(bytes_.end(), value.begin(), value.end());
    }
    finish(data);
  }

  void add_legacy(std::uint32_t pcr, std::uint32_t type, const Bytes& data, const Bytes& sha1) {
    mark("pcr_index", 4);
    put32(bytes_, pcr);
    mark("event_type", 4);
    put32(bytes_, type);
    mark("digest", 20);
    bytes_.insert(bytes_.end(), sha1.begin(), sha1.end());
    finish(data);
  }

  [[nodiscard]] const Bytes& bytes() const { return bytes_; }
  [[nodiscard]] const std::vector<FieldMark>& marks() const { return marks_; }
  [[nodiscard]] const std::vector<std::size_t>& event_ends() const { return event_ends_; }

  static void put16(Bytes& out, std::uint16_t value) {
    out.push_back(static_cast<std::uint8_t>(value));
    out.push_back(static_cast<std::uint8_t>(value >> 8));
  }
  static void append(Bytes& out, const char* text, std::size_t size) {
    out.insert(out.end(), text, text + size);
  }
  static void put32(Bytes& out, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) {
      out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
    }
  }

 private:
  void mark(const char* field, std::size_t size) { marks_.push_back({field, bytes_.size(), size}); }

  void finish(const Bytes& data) {
    mark("event_size", 4);
    put32(bytes_, static_cast<std::uint32_t>(data.size()));
    mark("event_data", data.size());
    bytes_.insert(bytes_.end(), data.begin(), data.end());
    event_ends_.push_back(bytes_.size());
  }

  std::vector<DeclaredAlgorithm> algorithms_;
  Bytes bytes_;
  std::vector<FieldMark> marks_;
  std::vector<std::size_t> event_ends_;
};

Bytes text_bytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

Bytes startup_locality(std::uint8_t locality) {
  // The signature is "StartupLocality" with its terminating NUL: 16 bytes.
  static constexpr char kSignature[] = "StartupLocality";
  Bytes data(kSignature, kSignature + sizeof kSignature);
  data.push_back(locality);
  return data;
}

// Computes the expected PCR value independently of the replay code.
Bytes extend_all(std::uint16_t algorithm, Bytes value, const std::vector<Bytes>& digests) {
  for (const Bytes& digest : digests) {
    Bytes input = value;
    input.insert(input.end(), digest.begin(), digest.end());
    value = digest_of(algorithm, input);
  }
  return value;
}

const std::vector<DeclaredAlgorithm> kThreeBanks = {
    {kAlgSha1, 20}, {kAlgSha256, 32}, {kAlgSha384, 48}};

void expect_error_at(const Result<EventLog>& log, Errc code, const std::string& field, std::size_t offset) {
  ASSERT_FALSE(log.has_value());
  EXPECT_EQ(log.error().code, code) << log.error().to_string();
  ASSERT_TRUE(log.error().field.has_value()) << log.error().to_string();
  EXPECT_EQ(*log.error().field, field) << log.error().to_string();
  ASSERT_TRUE(log.error().offset.has_value()) << log.error().to_string();
  EXPECT_EQ(*log.error().offset, offset) << log.error().to_string();
}

TEST(EventLogFixture, ReplayMatchesExpectedPcrs) {
  CVM_REQUIRE_FIXTURES();
  auto log = parse_event_log(read_fixture("go-tpm-tools/ubuntu-2404-amd-sevsnp.binary_bios_measurements"));
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  EXPECT_EQ(log->format, EventLogFormat::crypto_agile);
  ASSERT_TRUE(log->spec_id.has_value());
  ASSERT_EQ(log->spec_id->algorithms.size(), 3u);
  EXPECT_EQ(log->spec_id->algorithms[0].algorithm_id, kAlgSha1);
  EXPECT_EQ(log->spec_id->algorithms[1].algorithm_id, kAlgSha256);
  EXPECT_EQ(log->spec_id->algorithms[2].algorithm_id, kAlgSha384);
  EXPECT_EQ(log->events.size(), 117u);  // the header and 116 events
  EXPECT_EQ(log->padding_size, 0u);

  Bytes expected_text = read_fixture("go-tpm-tools/ubuntu-2404-amd-sevsnp.expected-pcrs.json");
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value expected;
  const char* begin = reinterpret_cast<const char*>(expected_text.data());
  ASSERT_TRUE(reader->parse(begin, begin + expected_text.size(), &expected, nullptr));
  const Json::Value& sha256 = expected["sha256"];
  ASSERT_EQ(sha256.size(), 11u);

  auto bank = replay_event_log(*log, kAlgSha256);
  ASSERT_TRUE(bank.has_value()) << bank.error().to_string();
  for (const std::string& index : sha256.getMemberNames()) {
    SCOPED_TRACE("PCR " + index);
    auto value = bank->values.find(static_cast<std::uint32_t>(std::stoul(index)));
    ASSERT_NE(value, bank->values.end());
    EXPECT_EQ(hex_encode(value->second), sha256[index].asString());
  }
}

TEST(EventLogFixture, OtherBanksReplay) {
  CVM_REQUIRE_FIXTURES();
  auto log = parse_event_log(read_fixture("go-tpm-tools/ubuntu-2404-amd-sevsnp.binary_bios_measurements"));
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  auto sha256 = replay_event_log(*log, kAlgSha256);
  ASSERT_TRUE(sha256.has_value());
  for (std::uint16_t algorithm : {kAlgSha1, kAlgSha384}) {
    auto bank = replay_event_log(*log, algorithm);
    ASSERT_TRUE(bank.has_value()) << bank.error().to_string();
    ASSERT_EQ(bank->values.size(), sha256->values.size());
    for (const auto& [index, value] : bank->values) {
      EXPECT_EQ(value.size(), *standard_digest_size(algorithm));
      EXPECT_TRUE(sha256->values.contains(index));
    }
  }
  auto missing = replay_event_log(*log, kAlgSha512);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, Errc::not_found);
}

TEST(EventLogFixture, EventsAreNamedAndDescribed) {
  CVM_REQUIRE_FIXTURES();
  auto log = parse_event_log(read_fixture("go-tpm-tools/ubuntu-2404-amd-sevsnp.binary_bios_measurements"));
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  EXPECT_EQ(event_type_name(log->events[0].event_type), "EV_NO_ACTION");
  EXPECT_EQ(describe_event(log->events[0]), "Spec ID Event03");
  std::size_t separators = 0;
  std::size_t variables = 0;
  for (const Event& event : log->events) {
    EXPECT_EQ(event.digests.size(), event.index == 0 ? 1u : 3u);
    if (event.event_type == kEvSeparator) {
      ++separators;
      EXPECT_EQ(describe_event(event), "separator");
    }
    if (event.event_type == kEvEfiVariableBoot || event.event_type == 0x80000001) {
      ++variables;
      EXPECT_FALSE(describe_event(event).empty()) << event.index;
    }
  }
  EXPECT_GE(separators, 8u);  // one per PCR 0-7 at least
  EXPECT_GT(variables, 0u);
}

TEST(EventLogReplay, StartupLocalityAndNoAction) {
  LogBuilder builder = LogBuilder::agile(kThreeBanks);
  builder.add(0, kEvNoAction, startup_locality(3));
  builder.add(0, kEvPostCode, text_bytes("POST CODE"));
  builder.add(0, kEvNoAction, text_bytes("not extended"));
  builder.add(7, 0x12345678, Bytes{0xde, 0xad});  // unknown type, still extended
  builder.add(17, kEvEfiAction, text_bytes("drtm"));
  builder.add(0, kEvSeparator, Bytes(4, 0));

  auto log = parse_event_log(builder.bytes());
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  ASSERT_EQ(log->events.size(), 7u);
  EXPECT_EQ(log->events[4].event_type, 0x12345678u);
  EXPECT_EQ(event_type_name(0x12345678), "EV_UNKNOWN_0x12345678");
  EXPECT_EQ(describe_event(log->events[1]), "StartupLocality: locality 3");

  for (const DeclaredAlgorithm& algorithm : kThreeBanks) {
    SCOPED_TRACE(algorithm_name(algorithm.algorithm_id));
    auto bank = replay_event_log(*log, algorithm.algorithm_id);
    ASSERT_TRUE(bank.has_value()) << bank.error().to_string();
    std::size_t size = algorithm.digest_size;
    Bytes pcr0(size, 0);
    pcr0.back() = 3;
    Bytes expected0 = extend_all(algorithm.algorithm_id, pcr0,
                                 {digest_of(algorithm.algorithm_id, text_bytes("POST CODE")),
                                  digest_of(algorithm.algorithm_id, Bytes(4, 0))});
    Bytes expected7 = extend_all(algorithm.algorithm_id, Bytes(size, 0),
                                 {digest_of(algorithm.algorithm_id, Bytes{0xde, 0xad})});
    Bytes expected17 = extend_all(algorithm.algorithm_id, Bytes(size, 0xff),
                                  {digest_of(algorithm.algorithm_id, text_bytes("drtm"))});
    ASSERT_EQ(bank->values.size(), 3u);
    EXPECT_EQ(bank->values.at(0), expected0);
    EXPECT_EQ(bank->values.at(7), expected7);
    EXPECT_EQ(bank->values.at(17), expected17);
  }
}

TEST(EventLogReplay, LocalityOnlyEventSetsPcr0) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}});
  builder.add(0, kEvNoAction, startup_locality(4));
  auto log = parse_event_log(builder.bytes());
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  auto bank = replay_event_log(*log, kAlgSha256);
  ASSERT_TRUE(bank.has_value());
  Bytes expected(32, 0);
  expected.back() = 4;
  ASSERT_EQ(bank->values.size(), 1u);
  EXPECT_EQ(bank->values.at(0), expected);
}

TEST(EventLogReplay, Sha384OnlyLog) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha384, 48}});
  builder.add(4, kEvEfiAction, text_bytes("Calling EFI Application from Boot Option"));
  builder.add(4, kEvSeparator, Bytes(4, 0));
  auto log = parse_event_log(builder.bytes());
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  auto bank = replay_event_log(*log, kAlgSha384);
  ASSERT_TRUE(bank.has_value()) << bank.error().to_string();
  EXPECT_EQ(bank->values.at(4),
            extend_all(kAlgSha384, Bytes(48, 0),
                       {ossl::sha384(text_bytes("Calling EFI Application from Boot Option")),
                        ossl::sha384(Bytes(4, 0))}));
  EXPECT_EQ(describe_event(log->events[1]), "Calling EFI Application from Boot Option");
  auto sha256 = replay_event_log(*log, kAlgSha256);
  ASSERT_FALSE(sha256.has_value());
  EXPECT_EQ(sha256.error().code, Errc::not_found);
}

TEST(EventLogReplay, LegacyLog) {
  LogBuilder builder = LogBuilder::legacy();
  builder.add(0, 0x00000008, Bytes{'v', 0, '1', 0, 0, 0});  // EV_S_CRTM_VERSION in UCS-2
  builder.add(0, kEvSeparator, Bytes(4, 0));
  builder.add(5, kEvNoAction, text_bytes("ignored"));
  auto log = parse_event_log(builder.bytes());
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  EXPECT_EQ(log->format, EventLogFormat::legacy_sha1);
  EXPECT_FALSE(log->spec_id.has_value());
  ASSERT_EQ(log->events.size(), 3u);
  EXPECT_EQ(describe_event(log->events[0]), "v1");
  ASSERT_EQ(log->banks().size(), 1u);
  EXPECT_EQ(log->banks()[0].algorithm_id, kAlgSha1);

  auto bank = replay_event_log(*log, kAlgSha1);
  ASSERT_TRUE(bank.has_value()) << bank.error().to_string();
  ASSERT_EQ(bank->values.size(), 1u);
  EXPECT_EQ(bank->values.at(0), extend_all(kAlgSha1, Bytes(20, 0),
                                           {digest_of(kAlgSha1, Bytes{'v', 0, '1', 0, 0, 0}),
                                            digest_of(kAlgSha1, Bytes(4, 0))}));
  auto sha256 = replay_event_log(*log, kAlgSha256);
  ASSERT_FALSE(sha256.has_value());
  EXPECT_EQ(sha256.error().code, Errc::not_found);
}

TEST(EventLogParse, TruncationAtEveryField) {
  for (bool agile : {true, false}) {
    SCOPED_TRACE(agile ? "crypto-agile" : "legacy");
    LogBuilder builder = agile ? LogBuilder::agile(kThreeBanks) : LogBuilder::legacy();
    builder.add(1, kEvPostCode, text_bytes("first"));
    builder.add(2, kEvEfiAction, text_bytes("second"));
    const Bytes& bytes = builder.bytes();
    for (const FieldMark& mark : builder.marks()) {
      if (mark.size < 2) {
        continue;
      }
      SCOPED_TRACE(mark.field + " at " + std::to_string(mark.offset));
      expect_error_at(parse_event_log(ByteView(bytes).first(mark.offset + 1)), Errc::invalid_data, mark.field,
                      mark.offset);
    }
  }
}

TEST(EventLogParse, EveryPrefixParsesOrFails) {
  LogBuilder builder = LogBuilder::agile(kThreeBanks);
  builder.add(0, kEvNoAction, startup_locality(0));
  builder.add(1, kEvPostCode, text_bytes("first"));
  builder.add(2, kEvEfiAction, text_bytes("second"));
  const Bytes& bytes = builder.bytes();
  const auto& ends = builder.event_ends();
  for (std::size_t length = 0; length <= bytes.size(); ++length) {
    auto log = parse_event_log(ByteView(bytes).first(length));
    bool at_boundary = std::find(ends.begin(), ends.end(), length) != ends.end();
    if (at_boundary) {
      ASSERT_TRUE(log.has_value()) << length << ": " << log.error().to_string();
    } else {
      ASSERT_FALSE(log.has_value()) << length;
      EXPECT_EQ(log.error().code, Errc::invalid_data);
    }
  }
}

TEST(EventLogParse, UndeclaredAlgorithmIsAnError) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}});
  std::size_t event_offset = builder.bytes().size();
  builder.add_agile(0, kEvPostCode, {{kAlgSha256, Bytes(32, 1)}, {kAlgSha1, Bytes(20, 2)}}, Bytes{});
  // Only one algorithm is declared, so the second digest exceeds the count first.
  expect_error_at(parse_event_log(builder.bytes()), Errc::invalid_data, "digest_count", event_offset + 8);

  LogBuilder two = LogBuilder::agile({{kAlgSha256, 32}, {kAlgSha384, 48}});
  std::size_t second_offset = two.bytes().size();
  two.add_agile(0, kEvPostCode, {{kAlgSha256, Bytes(32, 1)}, {kAlgSha1, Bytes(20, 2)}}, Bytes{});
  expect_error_at(parse_event_log(two.bytes()), Errc::invalid_data, "digest.algorithm_id",
                  second_offset + 12 + 2 + 32);
}

TEST(EventLogParse, DuplicateDigestIsAnError) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}, {kAlgSha384, 48}});
  std::size_t offset = builder.bytes().size();
  builder.add_agile(0, kEvPostCode, {{kAlgSha256, Bytes(32, 1)}, {kAlgSha256, Bytes(32, 2)}}, Bytes{});
  expect_error_at(parse_event_log(builder.bytes()), Errc::invalid_data, "digest.algorithm_id", offset + 12 + 34);
}

TEST(EventLogParse, UnknownDeclaredAlgorithmUsesDeclaredSize) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}, {kAlgSm3, 32}});
  builder.add(3, kEvPostCode, text_bytes("sm3 too"));
  auto log = parse_event_log(builder.bytes());
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  const EventDigest* sm3 = log->events[1].digest(kAlgSm3);
  ASSERT_NE(sm3, nullptr);
  EXPECT_EQ(sm3->value, Bytes(32, 0x5a));
  EXPECT_TRUE(replay_event_log(*log, kAlgSha256).has_value());
  auto replay = replay_event_log(*log, kAlgSm3);
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code, Errc::unsupported);
}

TEST(EventLogParse, SpecIdErrors) {
  // The Spec ID event data starts after the 32-byte SHA-1 event header;
  // the algorithm table starts 28 bytes into it.
  constexpr std::size_t kTable = 32 + 28;
  expect_error_at(parse_event_log(LogBuilder::agile({{kAlgSha256, 20}}).bytes()), Errc::invalid_data,
                  "spec_id.digest_size", kTable + 2);
  expect_error_at(parse_event_log(LogBuilder::agile({{kAlgSha256, 32}, {kAlgSha256, 32}}).bytes()),
                  Errc::invalid_data, "spec_id.algorithm_id", kTable + 4);
  expect_error_at(parse_event_log(LogBuilder::agile({{kAlgSm3, 0}}).bytes()), Errc::invalid_data,
                  "spec_id.digest_size", kTable + 2);
  expect_error_at(parse_event_log(LogBuilder::agile({}).bytes()), Errc::invalid_data,
                  "spec_id.number_of_algorithms", kTable - 4);

  // A Spec ID event cut inside its algorithm table.
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}});
  Bytes bytes = builder.bytes();
  Bytes shortened = bytes;
  shortened.resize(32 + 30);                     // keep one byte past the first algorithm id
  shortened[28] = 30;                            // event_size now covers only that
  expect_error_at(parse_event_log(shortened), Errc::invalid_data, "spec_id.digest_size", kTable + 2);
}

TEST(EventLogParse, Limits) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}});
  for (int i = 0; i < 5; ++i) {
    builder.add(1, kEvPostCode, Bytes(100, 7));
  }
  auto many = parse_event_log(builder.bytes(), {.max_events = 3});
  ASSERT_FALSE(many.has_value());
  EXPECT_EQ(many.error().code, Errc::invalid_data);
  auto large = parse_event_log(builder.bytes(), {.max_event_size = 64});
  ASSERT_FALSE(large.has_value());
  EXPECT_EQ(large.error().code, Errc::invalid_data);
  EXPECT_EQ(large.error().field, std::optional<std::string>("event_size"));
  auto fine = parse_event_log(builder.bytes(), {.max_events = 6, .max_event_size = 100});
  EXPECT_TRUE(fine.has_value());
}

TEST(EventLogParse, HugeEventSizeIsRejected) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}});
  builder.add(1, kEvPostCode, Bytes{1});
  Bytes bytes = builder.bytes();
  std::size_t size_offset = builder.marks()[builder.marks().size() - 2].offset;
  for (std::size_t i = 0; i < 4; ++i) {
    bytes[size_offset + i] = 0xff;
  }
  expect_error_at(parse_event_log(bytes), Errc::invalid_data, "event_size", size_offset);
}

TEST(EventLogParse, ZeroPaddingEndsTheLog) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}});
  builder.add(1, kEvPostCode, Bytes{1});
  Bytes bytes = builder.bytes();
  bytes.resize(bytes.size() + 4096, 0);
  auto log = parse_event_log(bytes);
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  EXPECT_EQ(log->events.size(), 2u);
  EXPECT_EQ(log->padding_size, 4096u);
}

TEST(EventLogParse, EmptyLogIsAnError) {
  auto log = parse_event_log(Bytes{});
  ASSERT_FALSE(log.has_value());
  EXPECT_EQ(log.error().code, Errc::invalid_data);
}

TEST(EventLogReplay, PcrAbove23IsAnError) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}});
  builder.add(24, kEvPostCode, Bytes{1});
  auto log = parse_event_log(builder.bytes());
  ASSERT_TRUE(log.has_value());
  auto bank = replay_event_log(*log, kAlgSha256);
  ASSERT_FALSE(bank.has_value());
  EXPECT_EQ(bank.error().code, Errc::invalid_data);
  EXPECT_EQ(bank.error().field, std::optional<std::string>("pcr_index"));
}

TEST(EventLogReplay, MissingBankDigestIsAnError) {
  LogBuilder builder = LogBuilder::agile({{kAlgSha256, 32}, {kAlgSha384, 48}});
  builder.add_agile(2, kEvPostCode, {{kAlgSha256, Bytes(32, 1)}}, Bytes{});
  auto log = parse_event_log(builder.bytes());
  ASSERT_TRUE(log.has_value()) << log.error().to_string();
  EXPECT_TRUE(replay_event_log(*log, kAlgSha256).has_value());
  auto bank = replay_event_log(*log, kAlgSha384);
  ASSERT_FALSE(bank.has_value());
  EXPECT_EQ(bank.error().code, Errc::invalid_data);
}

TEST(EventLogDescribe, EfiVariable) {
  Bytes data = {0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c};
  LogBuilder::put32(data, 10);  // UnicodeNameLength, low half
  LogBuilder::put32(data, 0);
  LogBuilder::put32(data, 1);  // VariableDataLength
  LogBuilder::put32(data, 0);
  for (char c : std::string("SecureBoot")) {
    data.push_back(static_cast<std::uint8_t>(c));
    data.push_back(0);
  }
  data.push_back(1);
  Event event{.event_type = 0x80000001, .data = data};
  EXPECT_EQ(describe_event(event), "SecureBoot (8be4df61-93ca-11d2-aa0d-00e098032b8c), 1 bytes of data");

  // A name length past the data is not decoded.
  data[16] = 0xff;
  event.data = data;
  EXPECT_EQ(describe_event(event), "");
}

TEST(EventLogNames, AlgorithmNames) {
  EXPECT_EQ(parse_algorithm_name("sha256").value(), kAlgSha256);
  EXPECT_EQ(parse_algorithm_name("SHA-384").value(), kAlgSha384);
  EXPECT_EQ(parse_algorithm_name("sha1").value(), kAlgSha1);
  auto unknown = parse_algorithm_name("md5");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_EQ(unknown.error().code, Errc::invalid_argument);
  EXPECT_EQ(algorithm_name(kAlgSm3), "0x0012");
  EXPECT_EQ(event_type_name(kEvSeparator), "EV_SEPARATOR");
  EXPECT_EQ(event_type_name(0x80000003), "EV_EFI_BOOT_SERVICES_APPLICATION");
}

}  // namespace
}  // namespace cvm::report
