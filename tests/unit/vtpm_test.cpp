// vtpm connection, errors, NV, platform detection, user data and event log,
// against a real swtpm per test.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "tests/unit/vtpm_test_support.hpp"
#include "vtpm/event_log.hpp"

namespace cvm::testing {
namespace {

using vtpm::NvReadOptions;
using vtpm::Tpm;

constexpr TPM2_HANDLE kTestIndex = 0x01500010;
constexpr TPMA_NV kOwnerReadWrite = TPMA_NV_OWNERREAD | TPMA_NV_OWNERWRITE;

// Fast settings for reads of indices that are known to be unwritten.
NvReadOptions quick_read() {
  return NvReadOptions{.uninitialized_attempts = 2, .uninitialized_delay = std::chrono::milliseconds(1)};
}

Bytes fake_hcl_report(std::uint8_t marker) {
  Bytes report = pattern_bytes(1500, marker);
  report[0] = 'H';
  report[1] = 'C';
  report[2] = 'L';
  report[3] = 'A';
  report[100] = marker;
  return report;
}

void put_index(const Tpm& tpm, TPM2_HANDLE index, ByteView data) {
  auto defined = vtpm::nv_define(tpm, index, static_cast<std::uint16_t>(data.size()), kOwnerReadWrite);
  ASSERT_TRUE(defined) << defined.error().to_string();
  auto written = vtpm::nv_write(tpm, index, data);
  ASSERT_TRUE(written) << written.error().to_string();
}

// ---- Connection and errors ----------------------------------------------------

TEST(VtpmTcti, MissingDeviceNamesPathAndIdentity) {
  const std::string path = "/nonexistent/cvm-attest-test-tpm";
  auto tpm = Tpm::open("device:" + path);
  ASSERT_FALSE(tpm);
  EXPECT_EQ(tpm.error().code, Errc::not_found);
  EXPECT_EQ(tpm.error().cause.source, Cause::Source::errno_value);
  EXPECT_EQ(tpm.error().cause.code, ENOENT);
  EXPECT_NE(tpm.error().message.find(path), std::string::npos);
  EXPECT_NE(tpm.error().message.find("uid " + std::to_string(::geteuid())), std::string::npos);
  EXPECT_NE(tpm.error().message.find("groups"), std::string::npos);
}

TEST(VtpmTcti, BareDeviceMeansResourceManager) {
  if (std::filesystem::exists("/dev/tpmrm0")) {
    GTEST_SKIP() << "this machine has /dev/tpmrm0; the test needs a machine without a TPM";
  }
  auto tpm = Tpm::open("device");
  ASSERT_FALSE(tpm);
  EXPECT_EQ(tpm.error().code, Errc::not_found);
  EXPECT_NE(tpm.error().message.find("/dev/tpmrm0"), std::string::npos);
}

TEST(VtpmTcti, UnreachableSwtpmIsIoError) {
  // Port 1 on loopback has no listener in any normal setup.
  auto tpm = Tpm::open("swtpm:host=127.0.0.1,port=1");
  ASSERT_FALSE(tpm);
  EXPECT_EQ(tpm.error().cause.source, Cause::Source::tpm);
  EXPECT_NE(tpm.error().message.find("port=1"), std::string::npos);
}

TEST(VtpmErrors, ResponseCodesMapToErrc) {
  EXPECT_EQ(vtpm::tpm_error(0x18B, "NV_ReadPublic").code, Errc::not_found);  // TPM_RC_HANDLE, handle 1
  EXPECT_EQ(vtpm::tpm_error(TPM2_RC_NV_UNINITIALIZED, "NV_Read").code, Errc::not_ready);
  EXPECT_EQ(vtpm::tpm_error(TPM2_RC_RETRY, "Quote").code, Errc::unavailable);
  EXPECT_EQ(vtpm::tpm_error(0x99D, "RSA_Decrypt").code, Errc::verification_failed);  // TPM_RC_POLICY_FAIL for session 1
  EXPECT_EQ(vtpm::tpm_error(TSS2_TCTI_RC_IO_ERROR, "Startup").code, Errc::io);

  Error error = vtpm::tpm_error(0x18B, "NV_ReadPublic", "NV index 0x01400001");
  EXPECT_EQ(error.cause.source, Cause::Source::tpm);
  EXPECT_EQ(error.cause.code, 0x18B);
  EXPECT_FALSE(error.cause.text.empty());
}

TEST(VtpmErrors, TransientCodesThroughResourceManager) {
  EXPECT_TRUE(vtpm::is_transient(TPM2_RC_RETRY));
  EXPECT_TRUE(vtpm::is_transient(TPM2_RC_YIELDED));
  EXPECT_TRUE(vtpm::is_transient(TPM2_RC_TESTING));
  EXPECT_TRUE(vtpm::is_transient(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_RETRY));
  EXPECT_FALSE(vtpm::is_transient(TPM2_RC_NV_UNINITIALIZED));
  EXPECT_FALSE(vtpm::is_transient(TSS2_TCTI_RC_LAYER | TPM2_RC_RETRY));
}

class VtpmRetry : public SwtpmTest {};

// libtpms finishes its self-test inside TPM2_Startup and never answers
// TPM_RC_RETRY, YIELDED or TESTING, so these tests inject the codes in front
// of a real TPM command.
TEST_F(VtpmRetry, TransientCodesAreResubmitted) {
  Tpm tpm = open_tpm();
  const TSS2_RC injected[] = {TPM2_RC_RETRY, TPM2_RC_YIELDED, TPM2_RC_TESTING};
  for (TSS2_RC code : injected) {
    int calls = 0;
    TPM2B_DIGEST* raw = nullptr;
    vtpm::RetryPolicy policy{.max_attempts = 4, .first_delay = std::chrono::milliseconds(1)};
    auto result = vtpm::submit_with_retry(policy, "GetRandom", "", [&]() -> TSS2_RC {
      if (++calls <= 2) {
        return code;
      }
      return Esys_GetRandom(tpm.esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 16, &raw);
    });
    vtpm::EsysPtr<TPM2B_DIGEST> random(raw);
    ASSERT_TRUE(result) << result.error().to_string();
    EXPECT_EQ(calls, 3);
    ASSERT_TRUE(random);
    EXPECT_EQ(random->size, 16);
  }
}

TEST_F(VtpmRetry, PersistentRetryGivesUnavailable) {
  int calls = 0;
  vtpm::RetryPolicy policy{.max_attempts = 3, .first_delay = std::chrono::milliseconds(1)};
  auto result = vtpm::submit_with_retry(policy, "Quote", "AK", [&]() -> TSS2_RC {
    ++calls;
    return TPM2_RC_RETRY;
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(result.error().code, Errc::unavailable);
  EXPECT_EQ(result.error().cause.code, TPM2_RC_RETRY);
}

TEST_F(VtpmRetry, OtherCodesAreNotResubmitted) {
  int calls = 0;
  auto result = vtpm::submit_with_retry(vtpm::RetryPolicy{}, "NV_Read", "", [&]() -> TSS2_RC {
    ++calls;
    return TPM2_RC_NV_UNINITIALIZED;
  });
  ASSERT_FALSE(result);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(result.error().code, Errc::not_ready);
}

TEST(VtpmStartup, UnstartedTpmIsNotReady) {
  auto swtpm = Swtpm::start(Swtpm::Options{.startup_clear = false});
  ASSERT_TRUE(swtpm) << swtpm.error().to_string();
  auto tpm = Tpm::open((*swtpm)->tcti());
  ASSERT_TRUE(tpm) << tpm.error().to_string();
  auto property = tpm->fixed_property(TPM2_PT_NV_BUFFER_MAX);
  ASSERT_FALSE(property);
  EXPECT_EQ(property.error().code, Errc::not_ready);
  EXPECT_EQ(property.error().cause.code, TPM2_RC_INITIALIZE);
}

// ---- NV -----------------------------------------------------------------------

class VtpmNv : public SwtpmTest {};

TEST_F(VtpmNv, MultiChunkReadEqualsWritten) {
  Tpm tpm = open_tpm();
  auto buffer_max = tpm.fixed_property(TPM2_PT_NV_BUFFER_MAX);
  ASSERT_TRUE(buffer_max) << buffer_max.error().to_string();
  const std::size_t size = 2048;  // swtpm's largest index
  ASSERT_GT(size, *buffer_max);

  Bytes data = pattern_bytes(size, 3);
  put_index(tpm, kTestIndex, data);

  auto read = vtpm::nv_read(tpm, kTestIndex);
  ASSERT_TRUE(read) << read.error().to_string();
  EXPECT_EQ(*read, data);

  // Chunks that do not divide the size exercise the short final chunk.
  auto small_chunks = vtpm::nv_read(tpm, kTestIndex, NvReadOptions{.max_chunk = 300});
  ASSERT_TRUE(small_chunks) << small_chunks.error().to_string();
  EXPECT_EQ(*small_chunks, data);
}

TEST_F(VtpmNv, PublicAreaReportsSizeAndAttributes) {
  Tpm tpm = open_tpm();
  ASSERT_TRUE(vtpm::nv_define(tpm, kTestIndex, 100, kOwnerReadWrite));
  auto info = vtpm::nv_read_public(tpm, kTestIndex);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->index, kTestIndex);
  EXPECT_EQ(info->data_size, 100);
  EXPECT_EQ(info->attributes & kOwnerReadWrite, kOwnerReadWrite);
  EXPECT_FALSE(info->written());
}

TEST_F(VtpmNv, AbsentHclIndexIsNotFound) {
  Tpm tpm = open_tpm();
  auto read = vtpm::read_hcl_report(tpm);
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Errc::not_found);
  EXPECT_NE(read.error().hint.find("not an Azure confidential VM"), std::string::npos);
  EXPECT_EQ(read.error().cause.source, Cause::Source::tpm);
}

TEST_F(VtpmNv, UnwrittenIndexIsNotReady) {
  Tpm tpm = open_tpm();
  ASSERT_TRUE(vtpm::nv_define(tpm, vtpm::kHclReportIndex, 64, kOwnerReadWrite));
  auto read = vtpm::read_hcl_report(tpm, quick_read());
  ASSERT_FALSE(read);
  EXPECT_EQ(read.error().code, Errc::not_ready);
  EXPECT_EQ(read.error().cause.code, TPM2_RC_NV_UNINITIALIZED);
  EXPECT_NE(read.error().message.find("report not ready"), std::string::npos);
}

TEST_F(VtpmNv, WriteAtOffsetAndUndefine) {
  Tpm tpm = open_tpm();
  put_index(tpm, kTestIndex, Bytes(10, 0));
  ASSERT_TRUE(vtpm::nv_write(tpm, kTestIndex, Bytes{1, 2, 3}, 4));
  auto read = vtpm::nv_read(tpm, kTestIndex);
  ASSERT_TRUE(read);
  EXPECT_EQ(*read, (Bytes{0, 0, 0, 0, 1, 2, 3, 0, 0, 0}));

  ASSERT_TRUE(vtpm::nv_undefine(tpm, kTestIndex));
  auto removed = vtpm::nv_read_public(tpm, kTestIndex);
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code, Errc::not_found);
}

TEST_F(VtpmNv, WritePastEndIsRejectedByTpm) {
  Tpm tpm = open_tpm();
  ASSERT_TRUE(vtpm::nv_define(tpm, kTestIndex, 8, kOwnerReadWrite));
  auto written = vtpm::nv_write(tpm, kTestIndex, Bytes(16, 1));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::invalid_argument);
}

// ---- Platform detection -------------------------------------------------------

TEST_F(VtpmNv, DetectPlatformWithoutReport) {
  Tpm tpm = open_tpm();
  auto detection = vtpm::detect_platform(tpm);
  ASSERT_TRUE(detection) << detection.error().to_string();
  EXPECT_FALSE(detection->azure_cvm);
}

TEST_F(VtpmNv, DetectPlatformWithHclReport) {
  Tpm tpm = open_tpm();
  put_index(tpm, vtpm::kHclReportIndex, fake_hcl_report(1));
  auto detection = vtpm::detect_platform(tpm);
  ASSERT_TRUE(detection) << detection.error().to_string();
  EXPECT_TRUE(detection->azure_cvm);
}

TEST_F(VtpmNv, DetectPlatformWithOtherSignature) {
  Tpm tpm = open_tpm();
  Bytes data = fake_hcl_report(1);
  data[0] = 'X';
  put_index(tpm, vtpm::kHclReportIndex, data);
  auto detection = vtpm::detect_platform(tpm);
  ASSERT_TRUE(detection) << detection.error().to_string();
  EXPECT_FALSE(detection->azure_cvm);
}

// ---- User data and refresh ----------------------------------------------------

TEST_F(VtpmNv, UserDataDefinesAndPads) {
  Tpm tpm = open_tpm();
  Bytes user_data = pattern_bytes(32, 9);
  auto written = vtpm::write_user_data(tpm, user_data);
  ASSERT_TRUE(written) << written.error().to_string();

  auto info = vtpm::nv_read_public(tpm, vtpm::kUserDataIndex);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->data_size, vtpm::kUserDataSize);
  auto stored = vtpm::nv_read(tpm, vtpm::kUserDataIndex);
  ASSERT_TRUE(stored);
  Bytes expected = user_data;
  expected.resize(vtpm::kUserDataSize, 0);
  EXPECT_EQ(*stored, expected);
}

TEST_F(VtpmNv, UserDataRedefinesWrongSize) {
  Tpm tpm = open_tpm();
  put_index(tpm, vtpm::kUserDataIndex, Bytes(16, 0xee));
  Bytes user_data = pattern_bytes(64, 1);
  auto written = vtpm::write_user_data(tpm, user_data);
  ASSERT_TRUE(written) << written.error().to_string();
  auto stored = vtpm::nv_read(tpm, vtpm::kUserDataIndex);
  ASSERT_TRUE(stored);
  EXPECT_EQ(*stored, user_data);
}

TEST_F(VtpmNv, UserDataOverwritesLongerValue) {
  Tpm tpm = open_tpm();
  ASSERT_TRUE(vtpm::write_user_data(tpm, Bytes(64, 0xff)));
  ASSERT_TRUE(vtpm::write_user_data(tpm, Bytes{1}));
  auto stored = vtpm::nv_read(tpm, vtpm::kUserDataIndex);
  ASSERT_TRUE(stored);
  Bytes expected(64, 0);
  expected[0] = 1;
  EXPECT_EQ(*stored, expected);
}

TEST_F(VtpmNv, UserDataOver64BytesRejected) {
  Tpm tpm = open_tpm();
  auto written = vtpm::write_user_data(tpm, Bytes(65, 0));
  ASSERT_FALSE(written);
  EXPECT_EQ(written.error().code, Errc::invalid_argument);
}

vtpm::RefreshOptions quick_refresh(std::chrono::milliseconds total) {
  return vtpm::RefreshOptions{.first_step = std::chrono::milliseconds(5),
                              .max_step = std::chrono::milliseconds(20),
                              .total = total,
                              .read = quick_read(),
                              .retry = {}};
}

TEST_F(VtpmNv, RefreshReturnsFreshReport) {
  {
    Tpm tpm = open_tpm();
    put_index(tpm, vtpm::kHclReportIndex, fake_hcl_report(7));
  }
  auto refreshed = vtpm::refresh_hcl_report(
      swtpm_->tcti(), [](ByteView report) -> Result<bool> { return report.size() > 100 && report[100] == 7; },
      quick_refresh(std::chrono::milliseconds(2000)));
  ASSERT_TRUE(refreshed) << refreshed.error().to_string();
  EXPECT_EQ(refreshed->reads, 1);
  EXPECT_EQ(refreshed->hcl_report, fake_hcl_report(7));
}

TEST_F(VtpmNv, RefreshWaitsUntilPredicateAccepts) {
  {
    Tpm tpm = open_tpm();
    put_index(tpm, vtpm::kHclReportIndex, fake_hcl_report(7));
  }
  int calls = 0;
  auto refreshed = vtpm::refresh_hcl_report(
      swtpm_->tcti(), [&](ByteView) -> Result<bool> { return ++calls >= 3; },
      quick_refresh(std::chrono::milliseconds(5000)));
  ASSERT_TRUE(refreshed) << refreshed.error().to_string();
  EXPECT_EQ(refreshed->reads, 3);
}

TEST_F(VtpmNv, RefreshTimesOutOnStaleReport) {
  {
    Tpm tpm = open_tpm();
    put_index(tpm, vtpm::kHclReportIndex, fake_hcl_report(7));
  }
  int calls = 0;
  auto refreshed = vtpm::refresh_hcl_report(
      swtpm_->tcti(), [&](ByteView) -> Result<bool> {
        ++calls;
        return false;
      },
      quick_refresh(std::chrono::milliseconds(100)));
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, Errc::timed_out);
  EXPECT_GE(calls, 2);
  EXPECT_NE(refreshed.error().message.find(std::to_string(calls) + " reads"), std::string::npos);
}

TEST_F(VtpmNv, RefreshPassesPredicateError) {
  {
    Tpm tpm = open_tpm();
    put_index(tpm, vtpm::kHclReportIndex, fake_hcl_report(7));
  }
  auto refreshed = vtpm::refresh_hcl_report(
      swtpm_->tcti(), [](ByteView) -> Result<bool> { return fail(Errc::invalid_data, "claims do not parse"); },
      quick_refresh(std::chrono::milliseconds(1000)));
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, Errc::invalid_data);
}

TEST_F(VtpmNv, RefreshWithoutReportIsNotFound) {
  auto refreshed = vtpm::refresh_hcl_report(
      swtpm_->tcti(), [](ByteView) -> Result<bool> { return true; }, quick_refresh(std::chrono::milliseconds(100)));
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, Errc::not_found);
}

TEST_F(VtpmNv, RefreshOfUnwrittenReportTimesOut) {
  {
    Tpm tpm = open_tpm();
    ASSERT_TRUE(vtpm::nv_define(tpm, vtpm::kHclReportIndex, 64, kOwnerReadWrite));
  }
  auto refreshed = vtpm::refresh_hcl_report(
      swtpm_->tcti(), [](ByteView) -> Result<bool> { return true; }, quick_refresh(std::chrono::milliseconds(50)));
  ASSERT_FALSE(refreshed);
  EXPECT_EQ(refreshed.error().code, Errc::timed_out);
}

// ---- Event log ----------------------------------------------------------------

class VtpmEventLog : public ::testing::Test {
 protected:
  void SetUp() override {
    directory_ = std::filesystem::temp_directory_path() /
                 ("cvm-eventlog-" + std::to_string(::getpid()) + "-" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(directory_);
  }
  void TearDown() override { std::filesystem::remove_all(directory_); }

  std::string write(const std::string& name, const Bytes& data) {
    std::string path = (directory_ / name).string();
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    return path;
  }

  std::filesystem::path directory_;
};

TEST_F(VtpmEventLog, MissingLogIsNoLog) {
  auto log = vtpm::read_event_log((directory_ / "absent").string());
  ASSERT_TRUE(log) << log.error().to_string();
  EXPECT_FALSE(log->has_value());
}

TEST_F(VtpmEventLog, EmptyLogIsNoLog) {
  auto log = vtpm::read_event_log(write("empty", {}));
  ASSERT_TRUE(log) << log.error().to_string();
  EXPECT_FALSE(log->has_value());
}

TEST_F(VtpmEventLog, LogIsReadWhole) {
  Bytes data = pattern_bytes(200000, 4);  // larger than one read() buffer
  auto log = vtpm::read_event_log(write("log", data));
  ASSERT_TRUE(log) << log.error().to_string();
  ASSERT_TRUE(log->has_value());
  EXPECT_EQ(**log, data);
}

TEST_F(VtpmEventLog, OversizedLogIsRejected) {
  auto log = vtpm::read_event_log(write("log", Bytes(5000, 1)), 4096);
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, Errc::invalid_data);
}

}  // namespace
}  // namespace cvm::testing
