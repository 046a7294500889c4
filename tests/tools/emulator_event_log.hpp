// A synthetic measured-boot event log in the TCG2 crypto-agile format, as
// UEFI firmware leaves it in /sys/kernel/security/tpm0/binary_bios_measurements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.hpp"

namespace cvm::emulator {

// TCG PC Client Platform Firmware Profile event types used here.
inline constexpr std::uint32_t kEvNoAction = 0x3;
inline constexpr std::uint32_t kEvSeparator = 0x4;
inline constexpr std::uint32_t kEvSCrtmVersion = 0x8;
inline constexpr std::uint32_t kEvIpl = 0xd;
inline constexpr std::uint32_t kEvEfiVariableDriverConfig = 0x80000001;
inline constexpr std::uint32_t kEvEfiVariableBoot = 0x80000002;
inline constexpr std::uint32_t kEvEfiBootServicesApplication = 0x80000003;
inline constexpr std::uint32_t kEvEfiAction = 0x80000007;
inline constexpr std::uint32_t kEvEfiPlatformFirmwareBlob = 0x80000008;
inline constexpr std::uint32_t kEvEfiVariableAuthority = 0x800000e0;

inline constexpr std::uint16_t kTpmAlgSha1 = 0x0004;
inline constexpr std::uint16_t kTpmAlgSha256 = 0x000b;

// One PCR extend the firmware performed: the digests to extend into the
// SHA-1 and SHA-256 banks of `pcr`, in log order.
struct PcrExtend {
  std::uint32_t pcr = 0;
  Bytes sha1;
  Bytes sha256;
};

struct EventLog {
  Bytes bytes;                     // the log file
  std::vector<PcrExtend> extends;  // every measured event; EV_NO_ACTION is not extended
};

// Builds the log of a Secure Boot UEFI boot that measures into PCRs 0-9. It
// starts with the Spec ID event and one StartupLocality EV_NO_ACTION. PCR 0
// gets the S-CRTM version and firmware blob, PCR 7 the Secure Boot variables
// (SecureBoot, PK, KEK, db, dbx) and the db authority, PCR 1 boot variables,
// PCR 4 the boot loaders, PCRs 8 and 9 GRUB's EV_IPL events, PCR 5 the
// ExitBootServices actions, and PCRs 0-7 one separator each. The PK, KEK and
// db certificates are generated afresh, so two logs differ in those events.
[[nodiscard]] Result<EventLog> build_event_log();

// The `tpm2_pcrextend` argument for one extend: "PCR:sha1=HEX,sha256=HEX".
[[nodiscard]] std::string pcr_extend_spec(const PcrExtend& extend);

}  // namespace cvm::emulator
