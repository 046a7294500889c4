// The evidence reader on malformed input: each rejection carries an Errc
// and names the JSON field at fault.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "common/bytes.hpp"
#include "report/evidence.hpp"
#include "report/hcl.hpp"
#include "tests/support/snp_forge.hpp"
#include "tests/unit/evidence_test_support.hpp"

namespace cvm::report {
namespace {

using testing::compact_json;
using testing::parse_json_text;

// Evidence with well-formed but meaningless parts: the reader checks
// structure and encodings, not signatures.
Evidence sample_evidence() {
  Evidence evidence;
  evidence.snp_report = testing::encode_report(testing::ReportFields{});
  evidence.runtime_claims = Bytes{'{', '}'};
  evidence.vcek_chain_pem = "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n";
  evidence.ak_public = Bytes{0x00, 0x02, 0x01, 0x02};
  evidence.quote = Bytes(40, 0x11);
  evidence.quote_signature = Bytes(256, 0x22);
  evidence.pcrs = {PcrEntry{.index = 0, .digest = Bytes(32, 0)}, PcrEntry{.index = 7, .digest = Bytes(32, 7)}};
  evidence.event_log = Bytes{1, 2, 3};
  evidence.ephemeral_public = Bytes{4, 5};
  evidence.ephemeral_certify_info = Bytes{6};
  evidence.ephemeral_certify_signature = Bytes{7, 8, 9};
  return evidence;
}

// An HCL report (header version 1, SNP, SHA-256) around an unsigned report.
Bytes sample_hcl(std::string_view claims) {
  Bytes hcl(kClaimsOffset, 0);
  auto put32 = [&](std::size_t offset, std::uint32_t value) {
    for (int i = 0; i < 4; ++i) hcl[offset + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(value >> (8 * i));
  };
  put32(0x00, kHclSignature);
  put32(0x04, 1);
  put32(0x08, static_cast<std::uint32_t>(kHardwareReportSize));
  put32(0x0c, 2);
  Bytes report = testing::encode_report(testing::ReportFields{});
  std::copy(report.begin(), report.end(), hcl.begin() + kHardwareReportOffset);
  put32(0x4c0, static_cast<std::uint32_t>(kRequestDataFixedSize + claims.size()));
  put32(0x4c4, 1);
  put32(0x4c8, static_cast<std::uint32_t>(HclReportType::snp));
  put32(0x4cc, static_cast<std::uint32_t>(HclHashType::sha256));
  put32(0x4d0, static_cast<std::uint32_t>(claims.size()));
  hcl.insert(hcl.end(), claims.begin(), claims.end());
  return hcl;
}

Json::Value sample_coco() {
  Json::Value root(Json::objectValue);
  root["version"] = 2;
  root["hcl_report"] = base64url_encode(sample_hcl("{\"keys\":[]}"));
  root["vcek"] = base64url_encode(Bytes{0x30, 0x00});
  root["tpm_quote"]["signature"] = hex_encode(Bytes(256, 1));
  root["tpm_quote"]["message"] = hex_encode(Bytes(40, 2));
  root["tpm_quote"]["pcrs"].append(hex_encode(Bytes(32, 3)));
  return root;
}

void expect_rejected(const std::string& text, Errc code, const std::optional<std::string>& field) {
  auto evidence = read_evidence(text);
  ASSERT_FALSE(evidence.has_value()) << text.substr(0, 200);
  EXPECT_EQ(evidence.error().code, code) << evidence.error().to_string();
  EXPECT_EQ(evidence.error().field, field) << evidence.error().to_string();
}

// The AttestationInfo of an AzureGuest body, changed by `edit` and put back.
std::string edited_azure_guest(const std::function<void(Json::Value&)>& edit) {
  Json::Value info = azure_guest_attestation_info(sample_evidence());
  edit(info);
  Json::Value body(Json::objectValue);
  body["AttestationInfo"] = base64url_encode(as_bytes(compact_json(info)));
  return compact_json(body);
}

TEST(EvidenceReader, SamplesRead) {
  auto azure = read_evidence(encode_azure_guest(sample_evidence()));
  ASSERT_TRUE(azure.has_value()) << azure.error().to_string();
  EXPECT_EQ(azure->event_log, (Bytes{1, 2, 3}));
  EXPECT_EQ(azure->ephemeral_certify_signature, (Bytes{7, 8, 9}));
  auto snp = read_evidence(encode_sev_snp_vm(sample_evidence()));
  ASSERT_TRUE(snp.has_value()) << snp.error().to_string();
  auto coco = read_evidence(compact_json(sample_coco()));
  ASSERT_TRUE(coco.has_value()) << coco.error().to_string();
  EXPECT_EQ(std::string(as_text(coco->runtime_claims)), "{\"keys\":[]}");
  ASSERT_EQ(coco->pcrs.size(), 1u);
}

TEST(EvidenceReader, RejectsNonJson) {
  expect_rejected("", Errc::invalid_data, std::nullopt);
  expect_rejected("{", Errc::invalid_data, std::nullopt);
  expect_rejected("{\"AttestationInfo\": \"x\"} trailing", Errc::invalid_data, std::nullopt);
  expect_rejected("[1, 2]", Errc::invalid_data, std::nullopt);
  expect_rejected("\"text\"", Errc::invalid_data, std::nullopt);
  expect_rejected("{\"report\": \"x\", \"report\": \"y\", \"runtimeData\": {}}", Errc::invalid_data, std::nullopt);
}

TEST(EvidenceReader, RejectsOversized) {
  std::string text = "{\"pad\": \"" + std::string(kMaxEvidenceSize, 'a') + "\"}";
  expect_rejected(text, Errc::invalid_data, std::nullopt);
}

TEST(EvidenceReader, RejectsUnknownShape) {
  expect_rejected("{}", Errc::unsupported, std::nullopt);
  expect_rejected("{\"report\": \"x\"}", Errc::unsupported, std::nullopt);
}

TEST(EvidenceReader, AzureGuestErrorsNameField) {
  expect_rejected("{\"AttestationInfo\": 5}", Errc::invalid_data, "AttestationInfo");
  expect_rejected("{\"AttestationInfo\": \"!!!\"}", Errc::invalid_data, "AttestationInfo");
  expect_rejected("{\"AttestationInfo\": \"" + base64url_encode(as_bytes("[]")) + "\"}", Errc::invalid_data,
                  "AttestationInfo");

  struct Case {
    std::function<void(Json::Value&)> edit;
    Errc code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](Json::Value& info) { info.removeMember("TpmInfo"); }, Errc::invalid_data, "AttestationInfo.TpmInfo"},
      {[](Json::Value& info) { info["TpmInfo"].removeMember("AikPub"); }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.AikPub"},
      {[](Json::Value& info) { info["TpmInfo"].removeMember("PcrQuote"); }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.PcrQuote"},
      {[](Json::Value& info) { info["TpmInfo"]["PcrSignature"] = "a b"; }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.PcrSignature"},
      {[](Json::Value& info) { info["TpmInfo"]["PcrQuote"] = 17; }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.PcrQuote"},
      {[](Json::Value& info) { info["TpmInfo"]["PCRs"] = "none"; }, Errc::invalid_data, "AttestationInfo.TpmInfo.PCRs"},
      {[](Json::Value& info) { info["TpmInfo"]["PCRs"][1]["Index"] = 0; }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.PCRs"},
      {[](Json::Value& info) { info["TpmInfo"]["PCRs"][1]["Index"] = 24; }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.PCRs"},
      {[](Json::Value& info) { info["TpmInfo"]["PCRs"][0]["Digest"] = "%%"; }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.PCRs[].Digest"},
      {[](Json::Value& info) { info["TpmInfo"]["EncKeyPub"] = "#"; }, Errc::invalid_data,
       "AttestationInfo.TpmInfo.EncKeyPub"},
      {[](Json::Value& info) { info["TcgLogs"] = "*"; }, Errc::invalid_data, "AttestationInfo.TcgLogs"},
      {[](Json::Value& info) { info["ClientPayload"]["nonce"] = "not base64!"; }, Errc::invalid_data,
       "AttestationInfo.ClientPayload.nonce"},
      {[](Json::Value& info) { info.removeMember("IsolationInfo"); }, Errc::invalid_data,
       "AttestationInfo.IsolationInfo.Type"},
      {[](Json::Value& info) { info["IsolationInfo"]["Type"] = "TrustedLaunch"; }, Errc::unsupported,
       "AttestationInfo.IsolationInfo.Type"},
      {[](Json::Value& info) { info["IsolationInfo"]["Evidence"].removeMember("Proof"); }, Errc::invalid_data,
       "AttestationInfo.IsolationInfo.Evidence.Proof"},
      {[](Json::Value& info) { info["IsolationInfo"]["Evidence"]["Proof"] = base64_encode(as_bytes("{")); },
       Errc::invalid_data, "AttestationInfo.IsolationInfo.Evidence.Proof"},
      {[](Json::Value& info) { info["IsolationInfo"]["Evidence"]["Proof"] = base64_encode(as_bytes("{}")); },
       Errc::invalid_data, "AttestationInfo.IsolationInfo.Evidence.Proof.SnpReport"},
      {[](Json::Value& info) { info["IsolationInfo"]["Evidence"].removeMember("RunTimeData"); }, Errc::invalid_data,
       "AttestationInfo.IsolationInfo.Evidence.RunTimeData"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i) + ", field " + cases[i].field);
    std::optional<std::string> field;
    if (!cases[i].field.empty()) field = cases[i].field;
    expect_rejected(edited_azure_guest(cases[i].edit), cases[i].code, field);
  }
}

TEST(EvidenceReader, SevSnpVmErrorsNameField) {
  Json::Value body = parse_json_text(encode_sev_snp_vm(sample_evidence()));
  Json::Value no_data = body;
  no_data["runtimeData"].removeMember("data");
  expect_rejected(compact_json(no_data), Errc::invalid_data, "runtimeData.data");
  Json::Value bad_report = body;
  bad_report["report"] = "@@@";
  expect_rejected(compact_json(bad_report), Errc::invalid_data, "report");
  Json::Value no_snp = body;
  no_snp["report"] = base64url_encode(as_bytes("{\"VcekCertChain\": \"\"}"));
  expect_rejected(compact_json(no_snp), Errc::invalid_data, "report.SnpReport");
  Json::Value number_nonce = body;
  number_nonce["nonce"] = 5;
  expect_rejected(compact_json(number_nonce), Errc::invalid_data, "nonce");
}

TEST(EvidenceReader, CocoErrorsNameField) {
  Json::Value version_one = sample_coco();
  version_one["version"] = 1;
  expect_rejected(compact_json(version_one), Errc::unsupported, "version");
  Json::Value version_text = sample_coco();
  version_text["version"] = "2";
  expect_rejected(compact_json(version_text), Errc::unsupported, "version");
  Json::Value no_version = sample_coco();
  no_version.removeMember("version");
  expect_rejected(compact_json(no_version), Errc::unsupported, "version");

  Json::Value bad_hcl = sample_coco();
  bad_hcl["hcl_report"] = "not base64 at all";
  expect_rejected(compact_json(bad_hcl), Errc::invalid_data, "hcl_report");
  Json::Value short_hcl = sample_coco();
  short_hcl["hcl_report"] = base64url_encode(Bytes(100, 0));
  expect_rejected(compact_json(short_hcl), Errc::invalid_data, "hcl_report");
  Json::Value no_vcek = sample_coco();
  no_vcek.removeMember("vcek");
  expect_rejected(compact_json(no_vcek), Errc::invalid_data, "vcek");

  Json::Value quote_text = sample_coco();
  quote_text["tpm_quote"] = "quote";
  expect_rejected(compact_json(quote_text), Errc::invalid_data, "tpm_quote");
  Json::Value bad_signature = sample_coco();
  bad_signature["tpm_quote"]["signature"] = "xyz";
  expect_rejected(compact_json(bad_signature), Errc::invalid_data, "tpm_quote.signature");
  Json::Value no_message = sample_coco();
  no_message["tpm_quote"].removeMember("message");
  expect_rejected(compact_json(no_message), Errc::invalid_data, "tpm_quote.message");
  Json::Value short_pcr = sample_coco();
  short_pcr["tpm_quote"]["pcrs"][0] = "00";
  expect_rejected(compact_json(short_pcr), Errc::invalid_data, "tpm_quote.pcrs");
}

TEST(EvidenceReader, VerifyNeverPassesGarbage) {
  // Structurally valid evidence with meaningless parts must fail verification, not crash.
  for (const std::string& body : {encode_azure_guest(sample_evidence()), encode_sev_snp_vm(sample_evidence()),
                                  compact_json(sample_coco())}) {
    auto evidence = read_evidence(body);
    ASSERT_TRUE(evidence.has_value()) << evidence.error().to_string();
    snp::TrustStore empty;
    empty.set_include_amd(false);
    EvidenceVerification verification = verify_evidence(*evidence, empty, EvidenceVerifyOptions{});
    EXPECT_FALSE(verification.passed()) << testing::describe(verification);
    EXPECT_EQ(verification.checks.size(), 11u);
  }
}

}  // namespace
}  // namespace cvm::report
