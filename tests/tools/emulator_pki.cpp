#include "tests/tools/emulator_pki.hpp"

#include <json/json.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include <cstdio>
#include <memory>
#include <sstream>

#include "tests/tools/emulator_files.hpp"

namespace cvm::emulator {
namespace {

// platform.json and vcek.key are a few kilobytes at most.
constexpr std::size_t kMaxPkiFileSize = 64 * 1024;

Result<void> random_bytes(std::span<std::uint8_t> out) {
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "RAND_bytes failed"));
  }
  return {};
}

Result<std::string> private_key_pem(EVP_PKEY* key) {
  ossl::UniqueBio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return fail(ossl::openssl_error(Errc::internal, "cannot encode the VCEK private key as PEM"));
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

// The VCEK product-name extension: AMD writes the stepping for Milan but not for Genoa.
std::string vcek_product_name(snp::Product product) {
  return product == snp::Product::milan ? "Milan-B0" : std::string(snp::product_name(product));
}

Result<std::uint8_t> json_byte(const Json::Value& object, const char* key) {
  const Json::Value& value = object[key];
  if (!value.isUInt() || value.asUInt() > 255) {
    return fail(std::move(Error{.code = Errc::invalid_data,
                                .message = std::string("platform.json: \"") + key +
                                           "\" must be an integer from 0 to 255"})
                    .with_hint("regenerate the file with `cvm-emulator pki`"));
  }
  return static_cast<std::uint8_t>(value.asUInt());
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> json_hex_array(const Json::Value& object, const char* key) {
  const Json::Value& value = object[key];
  if (!value.isString()) {
    return fail(Errc::invalid_data, std::string("platform.json: \"") + key + "\" must be a hex string");
  }
  Bytes bytes = CVM_TRY(hex_decode(value.asString()));
  if (bytes.size() != N) {
    return fail(Errc::invalid_data, std::string("platform.json: \"") + key + "\" must be " +
                                        std::to_string(N) + " bytes, got " + std::to_string(bytes.size()));
  }
  std::array<std::uint8_t, N> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

}  // namespace

Result<Platform> random_platform(snp::Product product) {
  Platform platform;
  platform.product = product;
  CVM_TRY(random_bytes(platform.chip_id));
  CVM_TRY(random_bytes(platform.measurement));
  switch (product) {
    case snp::Product::milan:
      // As in the 2025 Azure Milan report of confidential-containers/trustee's test data:
      // TCB 04000000000018db, firmware 1.55.29.
      platform.tcb = {.bootloader = 4, .tee = 0, .snp = 24, .microcode = 219};
      platform.firmware_major = 1;
      platform.firmware_minor = 55;
      platform.firmware_build = 29;
      break;
    case snp::Product::genoa:
      // The SPLs are plausible, not taken from a real report. Firmware 1.55.40 is what
      // Azure Genoa reports in confidential-containers/trustee's test data carry.
      platform.tcb = {.bootloader = 9, .tee = 0, .snp = 23, .microcode = 72};
      platform.firmware_major = 1;
      platform.firmware_minor = 55;
      platform.firmware_build = 40;
      break;
    case snp::Product::turin:
      return fail(Errc::unsupported, "the emulated platform supports Milan and Genoa, not Turin");
  }
  platform.tcb.raw = testing::encode_tcb(platform.tcb, product);
  return platform;
}

Result<testing::Chain> generate_chain(const Platform& platform, int rsa_bits) {
  testing::ChainOptions options;
  options.product = platform.product;
  options.rsa_bits = rsa_bits;
  options.product_name = vcek_product_name(platform.product);
  options.chip_id = platform.chip_id;
  options.tcb = platform.tcb;
  return testing::make_chain(options);
}

std::string platform_json(const Platform& platform) {
  Json::Value root(Json::objectValue);
  root["product"] = std::string(snp::product_name(platform.product));
  root["chip_id"] = hex_encode(platform.chip_id);
  Json::Value tcb(Json::objectValue);
  tcb["bootloader"] = platform.tcb.bootloader;
  tcb["tee"] = platform.tcb.tee;
  tcb["snp"] = platform.tcb.snp;
  tcb["microcode"] = platform.tcb.microcode;
  root["tcb"] = tcb;
  // The form Azure's tools print, for people comparing with THIM's "tcbm".
  root["tcbm"] = snp::tcb_hex(platform.tcb.raw);
  root["measurement"] = hex_encode(platform.measurement);
  root["firmware"] = std::to_string(platform.firmware_major) + "." + std::to_string(platform.firmware_minor) +
                     "." + std::to_string(platform.firmware_build);
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "  ";
  return Json::writeString(builder, root) + "\n";
}

Result<Platform> parse_platform_json(std::string_view text) {
  Json::CharReaderBuilder builder;
  Json::CharReaderBuilder::strictMode(&builder.settings_);
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value root;
  std::string errors;
  if (!reader->parse(text.data(), text.data() + text.size(), &root, &errors) || !root.isObject()) {
    return fail(Errc::invalid_data, "platform.json is not a JSON object: " + errors);
  }
  Platform platform;
  if (!root["product"].isString()) {
    return fail(Errc::invalid_data, "platform.json: \"product\" must be a string");
  }
  platform.product = CVM_TRY(snp::parse_product_name(root["product"].asString()));
  if (platform.product == snp::Product::turin) {
    return fail(Errc::unsupported, "platform.json: the emulated platform supports Milan and Genoa, not Turin");
  }
  platform.chip_id = CVM_TRY(json_hex_array<64>(root, "chip_id"));
  platform.measurement = CVM_TRY(json_hex_array<48>(root, "measurement"));
  const Json::Value& tcb = root["tcb"];
  if (!tcb.isObject()) {
    return fail(Errc::invalid_data, "platform.json: \"tcb\" must be an object");
  }
  platform.tcb.bootloader = CVM_TRY(json_byte(tcb, "bootloader"));
  platform.tcb.tee = CVM_TRY(json_byte(tcb, "tee"));
  platform.tcb.snp = CVM_TRY(json_byte(tcb, "snp"));
  platform.tcb.microcode = CVM_TRY(json_byte(tcb, "microcode"));
  platform.tcb.raw = testing::encode_tcb(platform.tcb, platform.product);

  const Json::Value& firmware = root["firmware"];
  unsigned major = 0;
  unsigned minor = 0;
  unsigned build = 0;
  char trailing = 0;
  if (!firmware.isString() ||
      std::sscanf(firmware.asCString(), "%u.%u.%u%c", &major, &minor, &build, &trailing) != 3 ||
      major > 255 || minor > 255 || build > 255) {
    return fail(Errc::invalid_data, "platform.json: \"firmware\" must be MAJOR.MINOR.BUILD, each 0-255");
  }
  platform.firmware_major = static_cast<std::uint8_t>(major);
  platform.firmware_minor = static_cast<std::uint8_t>(minor);
  platform.firmware_build = static_cast<std::uint8_t>(build);
  return platform;
}

Result<void> write_pki(const std::string& directory, const testing::Chain& chain, const Platform& platform) {
  CVM_TRY(make_directory(directory));
  std::string ark = ossl::certificate_pem(chain.ark.get());
  std::string ask = ossl::certificate_pem(chain.ask.get());
  std::string vcek = ossl::certificate_pem(chain.leaf.get());
  Bytes vcek_der = ossl::certificate_der(chain.leaf.get());
  if (ark.empty() || ask.empty() || vcek.empty() || vcek_der.empty()) {
    return fail(ossl::openssl_error(Errc::internal, "cannot encode the generated certificates"));
  }
  std::string key = CVM_TRY(private_key_pem(chain.leaf_key.get()));

  CVM_TRY(write_file_atomic(directory + "/vcek.key", as_bytes(key), 0600));
  CVM_TRY(write_file_atomic(directory + "/ark.pem", as_bytes(ark)));
  CVM_TRY(write_file_atomic(directory + "/ask.pem", as_bytes(ask)));
  CVM_TRY(write_file_atomic(directory + "/vcek.pem", as_bytes(vcek)));
  CVM_TRY(write_file_atomic(directory + "/vcek.der", vcek_der));
  CVM_TRY(write_file_atomic(directory + "/vcek-chain.pem", as_bytes(vcek + ask + ark)));
  CVM_TRY(write_file_atomic(directory + "/cert_chain.pem", as_bytes(ask + ark)));
  CVM_TRY(write_file_atomic(directory + "/platform.json", as_bytes(platform_json(platform))));
  return {};
}

Result<Signer> load_signer(const std::string& directory) {
  Signer signer;
  std::string platform_path = directory + "/platform.json";
  Bytes platform_text = CVM_TRY(read_file(platform_path, kMaxPkiFileSize));
  auto platform = parse_platform_json(as_text(platform_text));
  if (!platform) {
    return std::unexpected(std::move(platform).error().prefixed(platform_path));
  }
  signer.platform = *platform;

  std::string key_path = directory + "/vcek.key";
  Bytes key_text = CVM_TRY(read_file(key_path, kMaxPkiFileSize));
  ossl::UniqueBio bio(BIO_new_mem_buf(key_text.data(), static_cast<int>(key_text.size())));
  if (!bio) {
    return fail(ossl::openssl_error(Errc::internal, "BIO_new_mem_buf failed"));
  }
  signer.vcek_key.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!signer.vcek_key || EVP_PKEY_get_base_id(signer.vcek_key.get()) != EVP_PKEY_EC) {
    return fail(std::move(ossl::openssl_error(Errc::invalid_data, key_path + " is not a PEM EC private key"))
                    .with_hint("regenerate the directory with `cvm-emulator pki`"));
  }
  return signer;
}

}  // namespace cvm::emulator
