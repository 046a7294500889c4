// `cvm-attest tpm ...` run as a process against a private swtpm.
#include <gtest/gtest.h>
#include <json/reader.h>
#include <json/value.h>

#include <fstream>
#include <sstream>

#include "tests/unit/vtpm_test_support.hpp"

#ifndef CVM_ATTEST_BINARY
#error "CVM_ATTEST_BINARY must name the cvm-attest executable"
#endif

namespace cvm::testing {
namespace {

class TpmCli : public AkTest {
 protected:
  ProcessResult run(std::vector<std::string> arguments) {
    arguments.insert(arguments.begin(), CVM_ATTEST_BINARY);
    auto result = run_process(arguments, {{"CVM_ATTEST_TCTI", swtpm_->tcti()}});
    EXPECT_TRUE(result) << result.error().to_string();
    return result ? *result : ProcessResult{};
  }

  static Json::Value parse_json(const std::string& text) {
    Json::Value root;
    Json::CharReaderBuilder builder;
    std::string errors;
    std::istringstream stream(text);
    EXPECT_TRUE(Json::parseFromStream(builder, stream, &root, &errors)) << errors << "\n" << text;
    return root;
  }
};

TEST_F(TpmCli, DetectWithoutReport) {
  ProcessResult result = run({"tpm", "detect", "--json"});
  EXPECT_EQ(result.exit_status, 1) << result.output;
  Json::Value root = parse_json(result.output);
  EXPECT_FALSE(root["azure_cvm"].asBool());
}

TEST_F(TpmCli, DetectWithReport) {
  {
    vtpm::Tpm tpm = open_tpm();
    Bytes report = pattern_bytes(600, 1);
    std::copy_n("HCLA", 4, report.begin());
    ASSERT_TRUE(vtpm::nv_define(tpm, vtpm::kHclReportIndex, 600, TPMA_NV_OWNERREAD | TPMA_NV_OWNERWRITE));
    ASSERT_TRUE(vtpm::nv_write(tpm, vtpm::kHclReportIndex, report));
  }
  ProcessResult result = run({"tpm", "detect", "--json"});
  EXPECT_EQ(result.exit_status, 0) << result.output;
  EXPECT_TRUE(parse_json(result.output)["azure_cvm"].asBool());
}

TEST_F(TpmCli, QuoteJsonVerifies) {
  ProcessResult result = run({"tpm", "quote", "--nonce", "00112233", "--pcrs", "0,1,7", "--json", "--base64"});
  ASSERT_EQ(result.exit_status, 0) << result.output;
  Json::Value root = parse_json(result.output);
  EXPECT_EQ(root["nonce"].asString(), "00112233");
  ASSERT_EQ(root["pcrs"].size(), 3u);
  EXPECT_EQ(root["pcrs"][2]["index"].asUInt(), 7u);

  auto attest = base64_decode(root["quote"].asString());
  auto signature = base64_decode(root["signature"].asString());
  ASSERT_TRUE(attest);
  ASSERT_TRUE(signature);
  auto info = vtpm::parse_attest(*attest);
  ASSERT_TRUE(info) << info.error().to_string();
  EXPECT_EQ(info->extra_data, (Bytes{0x00, 0x11, 0x22, 0x33}));

  vtpm::Tpm tpm = open_tpm();
  auto ak = vtpm::read_ak_public(tpm);
  ASSERT_TRUE(ak);
  EXPECT_TRUE(openssl_verify(ak->key.get(), EVP_sha256(), RSA_PKCS1_PADDING, *attest, *signature));
}

TEST_F(TpmCli, QuoteRejectsLongNonce) {
  ProcessResult result = run({"tpm", "quote", "--nonce", std::string(102, 'a')});
  EXPECT_EQ(result.exit_status, 2) << result.output;
}

TEST_F(TpmCli, PcrsText) {
  ProcessResult result = run({"tpm", "pcrs", "--pcrs", "3", "--bank", "sha1"});
  ASSERT_EQ(result.exit_status, 0) << result.output;
  EXPECT_NE(result.output.find("pcr 3: " + std::string(40, '0')), std::string::npos) << result.output;
}

TEST_F(TpmCli, NvReadToFile) {
  Bytes data = pattern_bytes(1500, 5);
  {
    vtpm::Tpm tpm = open_tpm();
    ASSERT_TRUE(vtpm::nv_define(tpm, 0x01500020, 1500, TPMA_NV_OWNERREAD | TPMA_NV_OWNERWRITE));
    ASSERT_TRUE(vtpm::nv_write(tpm, 0x01500020, data));
  }
  const std::string path = swtpm_->state_dir() + "/nv.bin";
  ProcessResult result = run({"tpm", "nvread", "--index", "0x01500020", "--out", path});
  ASSERT_EQ(result.exit_status, 0) << result.output;
  auto written = read_file(path, 1 << 20);
  ASSERT_TRUE(written);
  EXPECT_EQ(*written, data);
}

TEST_F(TpmCli, NvReadAbsentIndex) {
  ProcessResult result = run({"tpm", "nvread", "--json"});
  EXPECT_EQ(result.exit_status, 4) << result.output;
  EXPECT_EQ(parse_json(result.output)["error"]["code"].asString(), "not_found");
}

TEST_F(TpmCli, TctiOptionOverridesEnvironment) {
  ProcessResult result = run({"tpm", "pcrs", "--tcti", "device:/nonexistent/cvm-attest-tpm", "--json"});
  EXPECT_EQ(result.exit_status, 4) << result.output;
  EXPECT_EQ(parse_json(result.output)["error"]["code"].asString(), "not_found");
}

}  // namespace
}  // namespace cvm::testing
