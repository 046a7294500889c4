// TPM NV indices: read, write, define and undefine with owner authorization,
// Azure CVM platform detection, and the user-data refresh of the HCL report.
#pragma once

#include <tss2/tss2_tpm2_types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "common/error.hpp"
#include "vtpm/tpm.hpp"

namespace cvm::vtpm {

// NV indices of the Azure paravisor vTPM.
inline constexpr TPM2_HANDLE kHclReportIndex = 0x01400001;  // HCL report, written by the paravisor
inline constexpr TPM2_HANDLE kUserDataIndex = 0x01400002;   // 64 bytes of guest input to that report
inline constexpr TPM2_HANDLE kAkCertificateIndex = 0x01C101D0;
inline constexpr std::size_t kUserDataSize = 64;

struct NvPublic {
  TPM2_HANDLE index = 0;
  TPMA_NV attributes = 0;
  TPMI_ALG_HASH name_alg = TPM2_ALG_NULL;
  std::uint16_t data_size = 0;

  [[nodiscard]] bool written() const { return (attributes & TPMA_NV_WRITTEN) != 0; }
};

struct NvReadOptions {
  // An index that exists but was never written (TPM_RC_NV_UNINITIALIZED) is
  // read again this many times in all, waiting `uninitialized_delay` (doubling)
  // in between, before the read fails with Errc::not_ready.
  int uninitialized_attempts = 4;
  std::chrono::milliseconds uninitialized_delay{100};
  // Caps the chunk size below the TPM's TPM2_PT_NV_BUFFER_MAX; 0 means no cap.
  std::size_t max_chunk = 0;
};

// NV_ReadPublic of `index`. Errc::not_found when the index does not exist;
// for the HCL report index the hint states that the machine is not an Azure CVM.
[[nodiscard]] Result<NvPublic> nv_read_public(const Tpm& tpm, TPM2_HANDLE index);

// Reads the whole data area of `index` in chunks of at most TPM2_PT_NV_BUFFER_MAX
// bytes, authorized by the owner with an empty password (or by the index itself
// when it lacks ownerread but has authread). Errc::not_found when the index is
// absent, Errc::not_ready when it was never written.
[[nodiscard]] Result<Bytes> nv_read(const Tpm& tpm, TPM2_HANDLE index, const NvReadOptions& options = {});

// Writes `data` at `offset` in chunks, with owner authorization.
[[nodiscard]] Result<void> nv_write(const Tpm& tpm, TPM2_HANDLE index, ByteView data, std::uint16_t offset = 0);

// Defines an ordinary NV index of `size` bytes under the owner hierarchy with
// an empty auth value and nameAlg SHA-256.
[[nodiscard]] Result<void> nv_define(const Tpm& tpm, TPM2_HANDLE index, std::uint16_t size, TPMA_NV attributes);

[[nodiscard]] Result<void> nv_undefine(const Tpm& tpm, TPM2_HANDLE index);

// ---- Azure CVM ---------------------------------------------------------------

struct PlatformDetection {
  bool azure_cvm = false;
  std::string reason;  // the reason for the verdict, for people to read
};

// Decides whether this is an Azure confidential VM by the vTPM alone: NV
// 0x01400001 exists, can be read, and starts with "HCLA". An absent index or
// another signature gives azure_cvm = false; a TPM that cannot be reached, or an
// index that stays unreadable, gives an error.
[[nodiscard]] Result<PlatformDetection> detect_platform(const Tpm& tpm, const NvReadOptions& options = {});

// Reads the HCL report (NV 0x01400001).
[[nodiscard]] Result<Bytes> read_hcl_report(const Tpm& tpm, const NvReadOptions& options = {});

// Writes up to 64 bytes of user data to NV 0x01400002, zero-padded to 64, so
// that the stored value equals what the report's `user-data` claim will show.
// Defines the index (64 bytes, ownerread|ownerwrite) when it is absent and
// defines it again when its size differs.
[[nodiscard]] Result<void> write_user_data(const Tpm& tpm, ByteView user_data);

// Decides whether an HCL report reflects the expected user data.
using FreshnessPredicate = std::function<Result<bool>(ByteView hcl_report)>;

struct RefreshOptions {
  std::chrono::milliseconds first_step{250};
  std::chrono::milliseconds max_step{2500};  // the step doubles up to this
  std::chrono::milliseconds total{15000};    // no read starts after this much time
  NvReadOptions read;
  RetryPolicy retry;
};

struct RefreshedReport {
  Bytes hcl_report;
  int reads = 0;  // how many times the report was read
};

// Reads the HCL report until `is_fresh` accepts it. Each read opens its own
// connection through `tcti`, so the TPM is not held while waiting. A stale
// report is never returned: when `options.total` runs out, the result is
// Errc::timed_out with the number of reads. Errors of `is_fresh` are returned
// as they are; a report that is briefly unavailable or unwritten counts as stale.
[[nodiscard]] Result<RefreshedReport> refresh_hcl_report(std::string_view tcti, const FreshnessPredicate& is_fresh,
                                                         const RefreshOptions& options = {});

}  // namespace cvm::vtpm
