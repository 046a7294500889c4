// A connection to a TPM 2.0 through tpm2-tss ESAPI, the RAII wrappers for
// its C handles, and the translation of TSS2_RC codes into cvm::Error.
#pragma once

#include <tss2/tss2_esys.h>
#include <tss2/tss2_tcti.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "common/bytes.hpp"
#include "common/error.hpp"

namespace cvm::vtpm {

// The kernel resource manager, which shares the TPM between processes.
inline constexpr std::string_view kDefaultTcti = "device:/dev/tpmrm0";

// ---- Errors -----------------------------------------------------------------

// Builds an error for a failed ESAPI call: `command` names the TPM command
// (e.g. "NV_Read") and `subject` the object it acted on. The code maps TPM
// response codes onto Errc; the cause keeps the TSS2_RC and its decoded text.
[[nodiscard]] Error tpm_error(TSS2_RC rc, std::string_view command, std::string_view subject = {});

// The TPM response code with the TSS layer removed when the code came from the
// TPM itself or passed through a resource manager; otherwise nullopt.
[[nodiscard]] std::optional<std::uint32_t> tpm_response_code(TSS2_RC rc);

// The error number of a format-1 response code (handle, session or parameter
// number removed), or the code itself for format-0 and warning codes.
[[nodiscard]] std::uint32_t tpm_error_number(std::uint32_t tpm_rc);

// True for TPM_RC_RETRY, TPM_RC_YIELDED and TPM_RC_TESTING, the codes after
// which the TPM expects the same command to be sent again.
[[nodiscard]] bool is_transient(TSS2_RC rc);

// How often and how fast a command that returned a transient code is sent again.
// ESAPI itself resubmits such a command up to 5 times without waiting; this
// policy adds attempts with a delay on top of that.
struct RetryPolicy {
  int max_attempts = 5;
  std::chrono::milliseconds first_delay{20};
  std::chrono::milliseconds max_delay{500};
};

// Runs `submit` until it returns anything other than a transient code, at most
// `policy.max_attempts` times, doubling the delay between attempts. Gives
// Errc::unavailable naming the command when every attempt was transient.
[[nodiscard]] Result<void> submit_with_retry(const RetryPolicy& policy, std::string_view command,
                                             std::string_view subject,
                                             const std::function<TSS2_RC()>& submit);

// ---- RAII wrappers ----------------------------------------------------------

struct TctiDeleter {
  void operator()(TSS2_TCTI_CONTEXT* context) const;
};
using UniqueTcti = std::unique_ptr<TSS2_TCTI_CONTEXT, TctiDeleter>;

struct EsysDeleter {
  void operator()(ESYS_CONTEXT* context) const;
};
using UniqueEsys = std::unique_ptr<ESYS_CONTEXT, EsysDeleter>;

// Output structures that ESAPI allocates and the caller releases with Esys_Free.
struct EsysFreeDeleter {
  void operator()(void* pointer) const { Esys_Free(pointer); }
};
template <typename T>
using EsysPtr = std::unique_ptr<T, EsysFreeDeleter>;

// An ESYS_TR owned by this process. A transient object or session is flushed
// from the TPM when the wrapper goes away; a persistent object or NV index is
// only released from ESAPI's table (Esys_TR_Close), since it must stay in the TPM.
class EsysHandle {
 public:
  enum class Kind { flush, close };

  EsysHandle() = default;
  EsysHandle(ESYS_CONTEXT* context, ESYS_TR handle, Kind kind)
      : context_(context), handle_(handle), kind_(kind) {}
  EsysHandle(EsysHandle&& other) noexcept
      : context_(std::exchange(other.context_, nullptr)),
        handle_(std::exchange(other.handle_, ESYS_TR_NONE)),
        kind_(other.kind_) {}
  EsysHandle& operator=(EsysHandle&& other) noexcept {
    if (this != &other) {
      reset();
      context_ = std::exchange(other.context_, nullptr);
      handle_ = std::exchange(other.handle_, ESYS_TR_NONE);
      kind_ = other.kind_;
    }
    return *this;
  }
  EsysHandle(const EsysHandle&) = delete;
  EsysHandle& operator=(const EsysHandle&) = delete;
  ~EsysHandle() { reset(); }

  [[nodiscard]] ESYS_TR get() const { return handle_; }
  // Gives up ownership, e.g. after a command that consumed the handle.
  ESYS_TR release() {
    context_ = nullptr;
    return std::exchange(handle_, ESYS_TR_NONE);
  }
  void reset();

 private:
  ESYS_CONTEXT* context_ = nullptr;
  ESYS_TR handle_ = ESYS_TR_NONE;
  Kind kind_ = Kind::flush;
};

// ---- Connection -------------------------------------------------------------

// An open TCTI and ESAPI context. Open one per batch of operations and let it
// go when the batch is done, so that the kernel resource manager, or a swtpm
// that serves one connection at a time, is shared with other processes.
class Tpm {
 public:
  // Opens the TCTI named by `tcti` ("device:/dev/tpmrm0", "swtpm:host=127.0.0.1,port=2321",
  // "mssim:host=...,port=..."); an empty string means kDefaultTcti. Never falls
  // back to another TCTI or device. When a device cannot be opened, the error
  // names the path, errno, and this process's uid and groups.
  // NOTE: the tests exercise the device and swtpm TCTIs only; an mssim string
  // goes to the TCTI loader unchanged and needs a Microsoft simulator, which
  // swtpm does not emulate.
  [[nodiscard]] static Result<Tpm> open(std::string_view tcti, RetryPolicy retry = {});

  Tpm(Tpm&&) noexcept = default;
  Tpm& operator=(Tpm&&) noexcept = default;
  Tpm(const Tpm&) = delete;
  Tpm& operator=(const Tpm&) = delete;
  ~Tpm();

  [[nodiscard]] ESYS_CONTEXT* esys() const { return esys_.get(); }
  [[nodiscard]] const std::string& tcti() const { return tcti_; }
  [[nodiscard]] const RetryPolicy& retry_policy() const { return retry_; }

  // Runs one ESAPI call with the connection's retry policy.
  [[nodiscard]] Result<void> call(std::string_view command, std::string_view subject,
                                  const std::function<TSS2_RC()>& submit) const {
    return submit_with_retry(retry_, command, subject, submit);
  }

  // Reads one TPM2_PT_* property from TPM2_CAP_TPM_PROPERTIES.
  [[nodiscard]] Result<std::uint32_t> fixed_property(TPM2_PT property) const;

  // An ESYS_TR for a persistent object or NV index already in the TPM; fails
  // with Errc::not_found when the TPM has nothing at `tpm_handle`.
  [[nodiscard]] Result<EsysHandle> handle_from_tpm(TPM2_HANDLE tpm_handle) const;

 private:
  Tpm() = default;

  // Declaration order is destruction order reversed: ESAPI goes before its TCTI.
  std::string tcti_;
  RetryPolicy retry_;
  UniqueTcti tcti_context_;
  UniqueEsys esys_;
};

// "0x01400001" for a handle or NV index.
[[nodiscard]] std::string handle_hex(std::uint32_t handle);

}  // namespace cvm::vtpm
