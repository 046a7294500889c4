// The quote, certify and TPM2B_PUBLIC parsers on what a real TPM 2.0
// (swtpm, driven by tpm2-tools) produces. Skipped when either is missing.
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "common/fd.hpp"
#include "common/openssl.hpp"
#include "report/quote.hpp"
#include "report/tpm_public.hpp"

namespace cvm::report {
namespace {

const Bytes kChallenge = {'c', 'h', 'a', 'l', 'l', 'e', 'n', 'g', 'e'};
constexpr std::uint32_t kAkAttributes = 0x00050472;  // fixedTPM fixedParent sensitiveDataOrigin userWithAuth noDA restricted sign

bool tool_exists(const std::string& name) {
  return std::system(("command -v " + name + " >/dev/null 2>&1").c_str()) == 0;
}

bool port_free(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  return fd.valid() && ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

// Finds a loopback port P with P + 1 also free: swtpm serves the TPM on P
// and its control channel on P + 1, where the swtpm TCTI expects it.
std::uint16_t free_port_pair() {
  for (int attempt = 0; attempt < 50; ++attempt) {
    UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (!fd.valid() || ::bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      continue;
    }
    std::uint16_t port = ntohs(address.sin_port);
    if (port < 65535 && port_free(static_cast<std::uint16_t>(port + 1))) {
      return port;
    }
  }
  return 0;
}

Bytes read_bytes(const std::filesystem::path& path) {
  auto data = read_file(path.string(), 1 << 20);
  EXPECT_TRUE(data.has_value()) << path << ": " << data.error().to_string();
  return data ? *data : Bytes{};
}

// One swtpm instance with its state in a fresh temporary directory,
// listening on loopback only, stopped by its pid at the end of the test.
class SwtpmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!tool_exists("swtpm") || !tool_exists("tpm2_quote")) {
      GTEST_SKIP() << "swtpm or tpm2-tools not installed (scripts/install-deps installs them)";
    }
    char pattern[] = "/tmp/cvm-report-swtpm-XXXXXX";
    ASSERT_NE(::mkdtemp(pattern), nullptr);
    directory_ = pattern;

    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      std::uint16_t port = free_port_pair();
      ASSERT_NE(port, 0) << "no free loopback port pair";
      std::string command = "swtpm socket --tpm2 --tpmstate dir=" + directory_.string() +
                            " --server type=tcp,port=" + std::to_string(port) + ",bindaddr=127.0.0.1" +
                            " --ctrl type=tcp,port=" + std::to_string(port + 1) + ",bindaddr=127.0.0.1" +
                            " --flags not-need-init,startup-clear --daemon --pid file=" +
                            (directory_ / "swtpm.pid").string() + " 2>/dev/null";
      if (std::system(command.c_str()) != 0) {
        continue;  // lost the port to another process; try another pair
      }
      std::ifstream pid_file(directory_ / "swtpm.pid");
      pid_file >> pid_;
      tcti_ = "swtpm:host=127.0.0.1,port=" + std::to_string(port);
    }
    ASSERT_GT(pid_, 0) << "swtpm did not start";
  }

  void TearDown() override {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      // Wait briefly for swtpm to exit before its state directory is removed.
      for (int i = 0; i < 50 && ::kill(pid_, 0) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
    if (!directory_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(directory_, ignored);
    }
  }

  // Runs a tpm2-tools command in the state directory against this swtpm
  // only: the TCTI is always set, so a tool never falls back to another TPM.
  void run(const std::string& command) {
    std::string line = "cd " + directory_.string() + " && TPM2TOOLS_TCTI='" + tcti_ + "' " + command +
                       " && TPM2TOOLS_TCTI='" + tcti_ + "' tpm2_flushcontext -t";
    ASSERT_EQ(std::system(line.c_str()), 0) << command;
  }

  void create_ak() {
    run("tpm2_createprimary -Q -C o -G rsa2048:rsassa-sha256:null "
        "-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|sign|noda' -c ak.ctx");
    run("tpm2_readpublic -Q -c ak.ctx -o ak.pub -n ak.name");
    run("tpm2_readpublic -Q -c ak.ctx -f pem -o ak.pem");
  }

  std::filesystem::path path(const std::string& name) const { return directory_ / name; }

  std::filesystem::path directory_;
  std::string tcti_;
  pid_t pid_ = 0;
};

TEST_F(SwtpmTest, AkPublicMatchesPem) {
  create_ak();
  auto ak = parse_tpm2b_public(read_bytes(path("ak.pub")));
  ASSERT_TRUE(ak.has_value()) << ak.error().to_string();
  EXPECT_EQ(ak->object_attributes, kAkAttributes);
  EXPECT_EQ(ak->scheme, kAlgRsassa);
  EXPECT_EQ(ak->scheme_hash, std::optional<std::uint16_t>(0x000b));
  EXPECT_EQ(ak->key_bits, 2048u);
  EXPECT_TRUE(ak->auth_policy.empty());

  Bytes pem = read_bytes(path("ak.pem"));
  ossl::UniqueBio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ossl::UniquePkey expected(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr));
  ASSERT_NE(expected, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(ak->key.get(), expected.get()), 1);

  auto name = ak->name();
  ASSERT_TRUE(name.has_value()) << name.error().to_string();
  EXPECT_EQ(*name, read_bytes(path("ak.name")));
}

TEST_F(SwtpmTest, QuoteVerifies) {
  create_ak();
  run("tpm2_pcrextend 7:sha256=00000000000000000000000000000000000000000000000000000000000000aa");
  run("tpm2_quote -Q -c ak.ctx -l sha256:0,1,7,16 -q " + hex_encode(kChallenge) +
      " -m quote.msg -s quote.sig -f plain -o quote.pcrs -F values -g sha256");
  auto ak = parse_tpm2b_public(read_bytes(path("ak.pub")));
  ASSERT_TRUE(ak.has_value()) << ak.error().to_string();

  Bytes message = read_bytes(path("quote.msg"));
  Bytes signature = read_bytes(path("quote.sig"));
  Bytes values = read_bytes(path("quote.pcrs"));
  ASSERT_EQ(values.size(), 4u * 32u);
  std::vector<Bytes> pcrs;
  for (std::size_t i = 0; i < 4; ++i) {
    pcrs.emplace_back(values.begin() + static_cast<std::ptrdiff_t>(32 * i),
                      values.begin() + static_cast<std::ptrdiff_t>(32 * (i + 1)));
  }
  EXPECT_NE(pcrs[2], Bytes(32, 0));  // PCR 7 was extended

  auto attest = verify_quote(message, signature, ak->key.get(), ByteView(kChallenge), pcrs);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  ASSERT_EQ(attest->quote->selections.size(), 1u);
  EXPECT_EQ(attest->quote->selections[0].pcrs, (std::vector<std::uint32_t>{0, 1, 7, 16}));

  message[message.size() - 1] ^= 1;
  auto flipped = verify_quote(message, signature, ak->key.get(), ByteView(kChallenge), pcrs);
  ASSERT_FALSE(flipped.has_value());
  EXPECT_EQ(flipped.error().code, Errc::verification_failed);
}

TEST_F(SwtpmTest, TwoBankQuoteVerifies) {
  create_ak();
  run("tpm2_quote -Q -c ak.ctx -l sha1:0,7+sha256:7 -q 01 -m quote.msg -s quote.sig -f plain "
      "-o quote.pcrs -F values -g sha256");
  auto ak = parse_tpm2b_public(read_bytes(path("ak.pub")));
  ASSERT_TRUE(ak.has_value()) << ak.error().to_string();
  Bytes values = read_bytes(path("quote.pcrs"));
  ASSERT_EQ(values.size(), 20u + 20u + 32u);
  std::vector<Bytes> pcrs = {Bytes(values.begin(), values.begin() + 20), Bytes(values.begin() + 20, values.begin() + 40),
                             Bytes(values.begin() + 40, values.end())};
  auto attest = verify_quote(read_bytes(path("quote.msg")), read_bytes(path("quote.sig")), ak->key.get(),
                             ByteView(Bytes{1}), pcrs);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  ASSERT_EQ(attest->quote->selections.size(), 2u);
  EXPECT_EQ(attest->quote->selections[0].hash_algorithm, 0x0004);
  EXPECT_EQ(attest->quote->selections[1].hash_algorithm, 0x000b);
}

TEST_F(SwtpmTest, CertifyParses) {
  create_ak();
  run("tpm2_createprimary -Q -C o -G rsa2048 -c srk.ctx");
  run("tpm2_create -Q -C srk.ctx -G rsa2048:rsaes:null "
      "-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|decrypt' -u key.pub -r key.priv");
  run("tpm2_load -Q -C srk.ctx -u key.pub -r key.priv -c key.ctx -n key.name");
  run("tpm2_certify -Q -C ak.ctx -c key.ctx -g sha256 -o certify.attest -s certify.sig -f plain");

  auto ak = parse_tpm2b_public(read_bytes(path("ak.pub")));
  ASSERT_TRUE(ak.has_value()) << ak.error().to_string();
  auto key = parse_tpm2b_public(read_bytes(path("key.pub")));
  ASSERT_TRUE(key.has_value()) << key.error().to_string();
  EXPECT_EQ(key->scheme, kAlgRsaes);
  EXPECT_NE(key->object_attributes & kObjectDecrypt, 0u);
  auto key_name = key->name();
  ASSERT_TRUE(key_name.has_value());
  EXPECT_EQ(*key_name, read_bytes(path("key.name")));

  Bytes certify = read_bytes(path("certify.attest"));
  auto attest = parse_attest(certify);
  ASSERT_TRUE(attest.has_value()) << attest.error().to_string();
  EXPECT_EQ(attest->type, kTpmStAttestCertify);
  ASSERT_TRUE(attest->certify.has_value());
  EXPECT_EQ(attest->certify->name, *key_name);
  auto verified = verify_attest_signature(certify, read_bytes(path("certify.sig")), ak->key.get());
  EXPECT_TRUE(verified.has_value()) << verified.error().to_string();
}

}  // namespace
}  // namespace cvm::report
