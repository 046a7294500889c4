#include "tests/tools/emulator_event_log.hpp"

#include <openssl/sha.h>
#include <openssl/x509.h>

#include <array>
#include <string_view>

#include "common/openssl.hpp"
#include "tests/support/snp_forge.hpp"

namespace cvm::emulator {
namespace {

// An EFI_GUID, serialised as UEFI does: Data1-3 little-endian, Data4 as is.
struct Guid {
  std::uint32_t data1;
  std::uint16_t data2;
  std::uint16_t data3;
  std::array<std::uint8_t, 8> data4;
};

// GUIDs from the UEFI specification (2.10, sections 3.3 and 32.4).
constexpr Guid kEfiGlobalVariable{0x8be4df61, 0x93ca, 0x11d2, {0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c}};
constexpr Guid kEfiImageSecurityDatabase{
    0xd719b2cb, 0x3d3a, 0x4596, {0xa3, 0xbc, 0xda, 0xd0, 0x0e, 0x67, 0x65, 0x6f}};
constexpr Guid kEfiCertX509{0xa5c059a1, 0x94e4, 0x4aa7, {0x87, 0xb5, 0xab, 0x15, 0x5c, 0x2b, 0xf0, 0x72}};
constexpr Guid kEfiCertSha256{0xc1c41626, 0x504c, 0x4092, {0xac, 0xa9, 0x41, 0xf9, 0x36, 0x93, 0x43, 0x28}};
// The signature owner of every list entry; any GUID is valid there.
constexpr Guid kEmulatorOwner{0x5b0f3c2e, 0x7a61, 0x4d2c, {0x9e, 0x43, 0x6c, 0x0d, 0x1a, 0x52, 0x88, 0x17}};

constexpr std::string_view kSpecIdSignature{"Spec ID Event03\0", 16};
constexpr std::string_view kStartupLocalitySignature{"StartupLocality\0", 16};

class Writer {
 public:
  void u8(std::uint8_t value) { out_.push_back(value); }
  void u16(std::uint16_t value) { little_endian(value, 2); }
  void u32(std::uint32_t value) { little_endian(value, 4); }
  void u64(std::uint64_t value) { little_endian(value, 8); }
  void bytes(ByteView data) { out_.insert(out_.end(), data.begin(), data.end()); }
  void text(std::string_view data) { bytes(as_bytes(data)); }
  void guid(const Guid& value) {
    u32(value.data1);
    u16(value.data2);
    u16(value.data3);
    bytes(value.data4);
  }
  // UCS-2 little-endian, as UEFI stores CHAR16 strings; the input is ASCII.
  void utf16(std::string_view ascii) {
    for (char c : ascii) {
      u16(static_cast<std::uint16_t>(static_cast<unsigned char>(c)));
    }
  }
  [[nodiscard]] Bytes take() { return std::move(out_); }

 private:
  void little_endian(std::uint64_t value, int size) {
    for (int i = 0; i < size; ++i) {
      out_.push_back(static_cast<std::uint8_t>((value >> (8 * i)) & 0xff));
    }
  }
  Bytes out_;
};

Bytes sha1(ByteView data) {
  Bytes out(SHA_DIGEST_LENGTH);
  SHA1(data.data(), data.size(), out.data());
  return out;
}

class LogBuilder {
 public:
  LogBuilder() { write_spec_id_event(); }

  // Appends an event whose digests are the hashes of `measured` and records the extend.
  void measure(std::uint32_t pcr, std::uint32_t type, ByteView event_data, ByteView measured) {
    PcrExtend extend{.pcr = pcr, .sha1 = sha1(measured), .sha256 = ossl::sha256(measured)};
    write_event(pcr, type, extend.sha1, extend.sha256, event_data);
    log_.extends.push_back(std::move(extend));
  }
  // The common case where the firmware hashes the event data itself.
  void measure_data(std::uint32_t pcr, std::uint32_t type, ByteView event_data) {
    measure(pcr, type, event_data, event_data);
  }
  // EV_NO_ACTION events carry zero digests and are never extended.
  void no_action(std::uint32_t pcr, ByteView event_data) {
    write_event(pcr, kEvNoAction, Bytes(SHA_DIGEST_LENGTH, 0), Bytes(SHA256_DIGEST_LENGTH, 0), event_data);
  }
  [[nodiscard]] EventLog take() {
    log_.bytes = writer_.take();
    return std::move(log_);
  }

 private:
  // TCG_PCR_EVENT with a TCG_EfiSpecIdEvent: the SHA-1-format first event that
  // declares the rest of the log crypto-agile and lists its digest banks.
  void write_spec_id_event() {
    Writer spec;
    spec.text(kSpecIdSignature);
    spec.u32(0);  // platformClass: client
    spec.u8(0);   // specVersionMinor
    spec.u8(2);   // specVersionMajor
    spec.u8(0);   // specErrata
    spec.u8(2);   // uintnSize: UINTN is 64 bits
    spec.u32(2);  // numberOfAlgorithms
    spec.u16(kTpmAlgSha1);
    spec.u16(SHA_DIGEST_LENGTH);
    spec.u16(kTpmAlgSha256);
    spec.u16(SHA256_DIGEST_LENGTH);
    spec.u8(0);  // vendorInfoSize
    Bytes event = spec.take();

    writer_.u32(0);
    writer_.u32(kEvNoAction);
    writer_.bytes(Bytes(SHA_DIGEST_LENGTH, 0));
    writer_.u32(static_cast<std::uint32_t>(event.size()));
    writer_.bytes(event);
  }

  // TCG_PCR_EVENT2 with a TPML_DIGEST_VALUES of both banks.
  void write_event(std::uint32_t pcr, std::uint32_t type, ByteView sha1_digest, ByteView sha256_digest,
                   ByteView event_data) {
    writer_.u32(pcr);
    writer_.u32(type);
    writer_.u32(2);
    writer_.u16(kTpmAlgSha1);
    writer_.bytes(sha1_digest);
    writer_.u16(kTpmAlgSha256);
    writer_.bytes(sha256_digest);
    writer_.u32(static_cast<std::uint32_t>(event_data.size()));
    writer_.bytes(event_data);
  }

  Writer writer_;
  EventLog log_;
};

// UEFI_VARIABLE_DATA: the event data of EV_EFI_VARIABLE_* events.
Bytes variable_data(const Guid& vendor, std::string_view name, ByteView data) {
  Writer writer;
  writer.guid(vendor);
  writer.u64(name.size());  // in CHAR16 units, without a terminator
  writer.u64(data.size());
  writer.utf16(name);
  writer.bytes(data);
  return writer.take();
}

// EFI_SIGNATURE_DATA: owner GUID, then the signature (a certificate or hash).
Bytes signature_data(ByteView signature) {
  Writer writer;
  writer.guid(kEmulatorOwner);
  writer.bytes(signature);
  return writer.take();
}

// EFI_SIGNATURE_LIST with entries of equal size, as db and dbx hold them.
Bytes signature_list(const Guid& type, const std::vector<Bytes>& signatures) {
  std::size_t entry_size = 16 + signatures.front().size();
  Writer writer;
  writer.guid(type);
  writer.u32(static_cast<std::uint32_t>(28 + entry_size * signatures.size()));  // SignatureListSize
  writer.u32(0);                                                               // SignatureHeaderSize
  writer.u32(static_cast<std::uint32_t>(entry_size));                          // SignatureSize
  for (const Bytes& signature : signatures) {
    writer.bytes(signature_data(signature));
  }
  return writer.take();
}

// A self-signed certificate valid from a day ago for ten years.
Result<Bytes> self_signed_certificate(const std::string& common_name) {
  constexpr long kNotBeforeOffsetSeconds = -24L * 3600;
  constexpr long kLifetimeSeconds = 10L * 365 * 24 * 3600;
  auto key = CVM_TRY(testing::generate_p384_key());
  ossl::UniqueX509 certificate(X509_new());
  ossl::UniqueX509Name name(X509_NAME_new());
  if (!certificate || !name ||
      X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_version(certificate.get(), 2) != 1 ||
      ASN1_INTEGER_set(X509_get_serialNumber(certificate.get()), 1) != 1 ||
      X509_set_subject_name(certificate.get(), name.get()) != 1 ||
      X509_set_issuer_name(certificate.get(), name.get()) != 1 ||
      X509_gmtime_adj(X509_getm_notBefore(certificate.get()), kNotBeforeOffsetSeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(certificate.get()), kNotBeforeOffsetSeconds + kLifetimeSeconds) == nullptr ||
      X509_set_pubkey(certificate.get(), key.get()) != 1 ||
      X509_sign(certificate.get(), key.get(), EVP_sha384()) <= 0) {
    return fail(ossl::openssl_error(Errc::internal, "cannot build the certificate " + common_name));
  }
  return ossl::certificate_der(certificate.get());
}

// A media file-path device path node followed by the end node.
Bytes file_device_path(std::string_view path) {
  Writer writer;
  writer.u8(0x04);  // MEDIA_DEVICE_PATH
  writer.u8(0x04);  // MEDIA_FILEPATH_DP
  writer.u16(static_cast<std::uint16_t>(4 + 2 * (path.size() + 1)));
  writer.utf16(path);
  writer.u16(0);
  writer.u8(0x7f);  // END_DEVICE_PATH_TYPE
  writer.u8(0xff);  // END_ENTIRE_DEVICE_PATH_SUBTYPE
  writer.u16(4);
  return writer.take();
}

// UEFI_IMAGE_LOAD_EVENT for a PE image loaded at `address`.
Bytes image_load_event(std::uint64_t address, std::uint64_t length, std::string_view path) {
  Bytes device_path = file_device_path(path);
  Writer writer;
  writer.u64(address);
  writer.u64(length);
  writer.u64(0);  // ImageLinkTimeAddress
  writer.u64(device_path.size());
  writer.bytes(device_path);
  return writer.take();
}

// EFI_LOAD_OPTION of Boot0000.
Bytes load_option(std::string_view description, std::string_view path) {
  Bytes device_path = file_device_path(path);
  Writer writer;
  writer.u32(1);  // LOAD_OPTION_ACTIVE
  writer.u16(static_cast<std::uint16_t>(device_path.size()));
  writer.utf16(description);
  writer.u16(0);
  writer.bytes(device_path);
  return writer.take();
}

// A NUL-terminated string, the event data of EV_IPL and EV_EFI_ACTION style events.
Bytes c_string(std::string_view text) {
  Bytes out(text.begin(), text.end());
  out.push_back(0);
  return out;
}

}  // namespace

Result<EventLog> build_event_log() {
  Bytes pk = CVM_TRY(self_signed_certificate("cvm-emulator Platform Key"));
  Bytes kek = CVM_TRY(self_signed_certificate("cvm-emulator KEK CA"));
  Bytes db = CVM_TRY(self_signed_certificate("cvm-emulator UEFI CA"));
  std::vector<Bytes> revoked_hashes;
  for (std::string_view image : {"revoked image 1", "revoked image 2", "revoked image 3"}) {
    revoked_hashes.push_back(ossl::sha256(as_bytes(image)));
  }

  LogBuilder log;

  // PCR 0: locality, firmware version and code.
  Bytes locality(kStartupLocalitySignature.begin(), kStartupLocalitySignature.end());
  locality.push_back(0);  // the TPM was started from locality 0, so PCR 0 starts at zero
  log.no_action(0, locality);
  Writer crtm_version;
  crtm_version.utf16("Hyper-V UEFI Release v4.1");
  crtm_version.u16(0);
  log.measure_data(0, kEvSCrtmVersion, crtm_version.take());
  Writer firmware_blob;
  firmware_blob.u64(0xffc00000);  // PhysicalAddress of the firmware volume
  firmware_blob.u64(0x00400000);  // Length
  log.measure(0, kEvEfiPlatformFirmwareBlob, firmware_blob.take(),
              as_bytes("cvm-emulator firmware volume contents"));

  // PCR 7: Secure Boot configuration, closed by a separator.
  log.measure_data(7, kEvEfiVariableDriverConfig, variable_data(kEfiGlobalVariable, "SecureBoot", Bytes{1}));
  log.measure_data(7, kEvEfiVariableDriverConfig,
                   variable_data(kEfiGlobalVariable, "PK", signature_list(kEfiCertX509, {pk})));
  log.measure_data(7, kEvEfiVariableDriverConfig,
                   variable_data(kEfiGlobalVariable, "KEK", signature_list(kEfiCertX509, {kek})));
  log.measure_data(7, kEvEfiVariableDriverConfig,
                   variable_data(kEfiImageSecurityDatabase, "db", signature_list(kEfiCertX509, {db})));
  log.measure_data(7, kEvEfiVariableDriverConfig,
                   variable_data(kEfiImageSecurityDatabase, "dbx", signature_list(kEfiCertSha256, revoked_hashes)));
  Bytes separator(4, 0);
  log.measure_data(7, kEvSeparator, separator);

  // PCR 1: boot variables.
  log.measure_data(1, kEvEfiVariableBoot, variable_data(kEfiGlobalVariable, "BootOrder", Bytes{0, 0}));
  log.measure_data(1, kEvEfiVariableBoot,
                   variable_data(kEfiGlobalVariable, "Boot0000",
                                 load_option("debian", "\\EFI\\debian\\shimx64.efi")));

  // Ready to boot: the action in PCR 4, then separators in PCRs 0-6.
  log.measure_data(4, kEvEfiAction, as_bytes("Calling EFI Application from Boot Option"));
  for (std::uint32_t pcr = 0; pcr <= 6; ++pcr) {
    log.measure_data(pcr, kEvSeparator, separator);
  }

  // The boot loaders: the db entry that authorised shim in PCR 7, the images in PCR 4.
  log.measure_data(7, kEvEfiVariableAuthority, variable_data(kEfiImageSecurityDatabase, "db", signature_data(db)));
  log.measure(4, kEvEfiBootServicesApplication, image_load_event(0x7e5a0000, 0x000e1000, "\\EFI\\debian\\shimx64.efi"),
              as_bytes("cvm-emulator shimx64.efi authenticode digest input"));
  log.measure(4, kEvEfiBootServicesApplication, image_load_event(0x7e460000, 0x0013c000, "\\EFI\\debian\\grubx64.efi"),
              as_bytes("cvm-emulator grubx64.efi authenticode digest input"));

  // PCRs 8 and 9: what GRUB measures (commands and command line, then files).
  const std::string kernel = "/boot/vmlinuz-6.1.0-28-cloud-amd64";
  const std::string initrd = "/boot/initrd.img-6.1.0-28-cloud-amd64";
  const std::string command_line = kernel + " root=PARTUUID=3a6c5b0e-01 ro console=ttyS0 earlyprintk=ttyS0";
  // GRUB logs "PREFIX: TEXT" with a terminator but hashes TEXT alone.
  log.measure(8, kEvIpl, c_string("grub_cmd: linux " + command_line), as_bytes("linux " + command_line));
  log.measure(8, kEvIpl, c_string("kernel_cmdline: " + command_line), as_bytes(command_line));
  log.measure(8, kEvIpl, c_string("grub_cmd: initrd " + initrd), as_bytes("initrd " + initrd));
  log.measure(9, kEvIpl, c_string(kernel), as_bytes("cvm-emulator kernel image"));
  log.measure(9, kEvIpl, c_string(initrd), as_bytes("cvm-emulator initial ramdisk"));

  // PCR 5: the kernel's ExitBootServices call.
  log.measure_data(5, kEvEfiAction, as_bytes("Exit Boot Services Invocation"));
  log.measure_data(5, kEvEfiAction, as_bytes("Exit Boot Services Returned with Success"));
  return log.take();
}

std::string pcr_extend_spec(const PcrExtend& extend) {
  return std::to_string(extend.pcr) + ":sha1=" + hex_encode(extend.sha1) + ",sha256=" + hex_encode(extend.sha256);
}

}  // namespace cvm::emulator
