#include "vtpm/tpm.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <thread>
#include <vector>

#include "common/fd.hpp"

namespace cvm::vtpm {
namespace {

// Format-0 response codes have this bit, format-1 codes TPM2_RC_FMT1 instead.
constexpr std::uint32_t kFormat0Bits = 0xB7F;      // error number, VER1, severity
constexpr std::uint32_t kFormat1NumberMask = 0x3F;  // bits 0-5 of a format-1 code

Cause tpm_cause(TSS2_RC rc) {
  const char* decoded = Tss2_RC_Decode(rc);
  return Cause{.source = Cause::Source::tpm,
               .code = static_cast<std::int64_t>(rc),
               .text = decoded != nullptr ? std::string(decoded) : std::string()};
}

std::string rc_hex(TSS2_RC rc) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%x", rc);
  return buffer;
}

// Errc and hint for a code that came from the TPM.
std::pair<Errc, std::string> classify_tpm_code(std::uint32_t tpm_rc) {
  std::uint32_t number = tpm_error_number(tpm_rc);
  switch (number) {
    case TPM2_RC_HANDLE:
      return {Errc::not_found, "the TPM has no object or NV index at that handle"};
    case TPM2_RC_AUTH_FAIL:
    case TPM2_RC_BAD_AUTH:
    case TPM2_RC_NV_AUTHORIZATION:
    case TPM2_RC_AUTH_UNAVAILABLE:
    case TPM2_RC_NV_LOCKED:
      return {Errc::permission_denied, "the TPM rejected the authorization; the owner password must be empty"};
    case TPM2_RC_LOCKOUT:
      return {Errc::permission_denied,
              "the TPM is in dictionary-attack lockout; wait for the lockout to expire"};
    case TPM2_RC_POLICY_FAIL:
      return {Errc::verification_failed, "the policy session does not satisfy the object's policy"};
    case TPM2_RC_NV_UNINITIALIZED:
      return {Errc::not_ready, "the NV index was defined but never written"};
    case TPM2_RC_INITIALIZE:
      return {Errc::not_ready, "the TPM has not been started (TPM2_Startup)"};
    case TPM2_RC_RETRY:
    case TPM2_RC_YIELDED:
    case TPM2_RC_TESTING:
    case TPM2_RC_NV_RATE:
    case TPM2_RC_NV_UNAVAILABLE:
    case TPM2_RC_PCR_CHANGED:
    case TPM2_RC_OBJECT_MEMORY:
    case TPM2_RC_SESSION_MEMORY:
    case TPM2_RC_MEMORY:
    case TPM2_RC_OBJECT_HANDLES:
    case TPM2_RC_SESSION_HANDLES:
      return {Errc::unavailable, "the TPM is busy; try again"};
    case TPM2_RC_NV_RANGE:
    case TPM2_RC_NV_SIZE:
    case TPM2_RC_NV_DEFINED:
    case TPM2_RC_NV_SPACE:
    case TPM2_RC_VALUE:
    case TPM2_RC_SIZE:
    case TPM2_RC_RANGE:
    case TPM2_RC_ATTRIBUTES:
    case TPM2_RC_TYPE:
    case TPM2_RC_SCHEME:
    case TPM2_RC_HASH:
    case TPM2_RC_KEY:
    case TPM2_RC_KEY_SIZE:
      return {Errc::invalid_argument, ""};
    default:
      return {Errc::internal, ""};
  }
}

std::pair<Errc, std::string> classify_tss_code(TSS2_RC rc) {
  TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  TSS2_RC base = rc & ~TSS2_RC_LAYER_MASK;
  if (layer == TSS2_TCTI_RC_LAYER || layer == TSS2_RESMGR_RC_LAYER) {
    switch (base) {
      case TSS2_BASE_RC_IO_ERROR:
      case TSS2_BASE_RC_NO_CONNECTION:
        return {Errc::io, "the connection to the TPM failed; check the TCTI and that the TPM is running"};
      case TSS2_BASE_RC_NOT_PERMITTED:
        return {Errc::permission_denied, ""};
      case TSS2_BASE_RC_TRY_AGAIN:
        return {Errc::unavailable, ""};
      default:
        break;
    }
  }
  if (base == TSS2_BASE_RC_BAD_VALUE || base == TSS2_BASE_RC_BAD_REFERENCE) {
    return {Errc::invalid_argument, ""};
  }
  return {Errc::internal, ""};
}

// "uid 1000 (alice), groups 1000 (alice), 59 (tss)"
std::string describe_process_identity() {
  std::string out = "uid " + std::to_string(::geteuid());
  if (const passwd* user = ::getpwuid(::geteuid()); user != nullptr) {
    out += std::string(" (") + user->pw_name + ")";
  }
  int count = ::getgroups(0, nullptr);
  std::vector<gid_t> groups(count > 0 ? static_cast<std::size_t>(count) : 0);
  if (count > 0) {
    count = ::getgroups(count, groups.data());
    groups.resize(count > 0 ? static_cast<std::size_t>(count) : 0);
  }
  gid_t primary = ::getegid();
  if (std::find(groups.begin(), groups.end(), primary) == groups.end()) {
    groups.insert(groups.begin(), primary);
  }
  out += ", groups ";
  for (std::size_t i = 0; i < groups.size(); ++i) {
    if (i > 0) {
      out += ", ";
    }
    out += std::to_string(groups[i]);
    if (const group* entry = ::getgrgid(groups[i]); entry != nullptr) {
      out += std::string(" (") + entry->gr_name + ")";
    }
  }
  return out;
}

// Opens and closes the device a "device" TCTI names, so that a failure carries
// errno: the device TCTI itself only reports TSS2_TCTI_RC_IO_ERROR.
Result<void> probe_device(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (fd.valid()) {
    return {};
  }
  int saved = errno;
  Errc code = saved == ENOENT                       ? Errc::not_found
              : (saved == EACCES || saved == EPERM) ? Errc::permission_denied
              : saved == EBUSY                      ? Errc::unavailable
                                                    : Errc::io;
  Error error = errno_error(code, "cannot open TPM device " + path + " as " + describe_process_identity(),
                            saved);
  switch (saved) {
    case ENOENT:
      error.hint = "this machine has no TPM at " + path +
                   "; on an Azure confidential VM the vTPM is /dev/tpmrm0, or pass another TCTI";
      break;
    case EACCES:
    case EPERM:
      error.hint = "run as root or as a member of the group that owns " + path + " (often 'tss')";
      break;
    case EBUSY:
      error.hint = path + " admits one process at a time; use the resource manager /dev/tpmrm0";
      break;
    default:
      break;
  }
  return fail(std::move(error));
}

}  // namespace

std::string handle_hex(std::uint32_t handle) {
  char buffer[16];
  std::snprintf(buffer, sizeof buffer, "0x%08x", handle);
  return buffer;
}

std::optional<std::uint32_t> tpm_response_code(TSS2_RC rc) {
  TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
  if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) {
    return rc & ~TSS2_RC_LAYER_MASK;
  }
  return std::nullopt;
}

std::uint32_t tpm_error_number(std::uint32_t tpm_rc) {
  if ((tpm_rc & TPM2_RC_FMT1) != 0) {
    return TPM2_RC_FMT1 | (tpm_rc & kFormat1NumberMask);
  }
  return tpm_rc & kFormat0Bits;
}

bool is_transient(TSS2_RC rc) {
  auto tpm_rc = tpm_response_code(rc);
  if (!tpm_rc) {
    return false;
  }
  std::uint32_t number = tpm_error_number(*tpm_rc);
  return number == TPM2_RC_RETRY || number == TPM2_RC_YIELDED || number == TPM2_RC_TESTING;
}

Error tpm_error(TSS2_RC rc, std::string_view command, std::string_view subject) {
  auto tpm_rc = tpm_response_code(rc);
  auto [code, hint] = tpm_rc ? classify_tpm_code(*tpm_rc) : classify_tss_code(rc);
  // TPM commands are named without their TPM2_ prefix; TSS calls keep their own names.
  bool tss_call = command.starts_with("Esys_") || command.starts_with("Tss2_");
  std::string message = (tss_call ? "" : "TPM2_") + std::string(command);
  if (!subject.empty()) {
    message += " on " + std::string(subject);
  }
  message += " failed with " + rc_hex(rc);
  return Error{.code = code, .message = std::move(message), .hint = std::move(hint), .cause = tpm_cause(rc)};
}

Result<void> submit_with_retry(const RetryPolicy& policy, std::string_view command, std::string_view subject,
                               const std::function<TSS2_RC()>& submit) {
  int attempts = std::max(policy.max_attempts, 1);
  std::chrono::milliseconds delay = policy.first_delay;
  TSS2_RC rc = TSS2_RC_SUCCESS;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    rc = submit();
    if (rc == TSS2_RC_SUCCESS) {
      return {};
    }
    if (!is_transient(rc)) {
      return fail(tpm_error(rc, command, subject));
    }
    if (attempt < attempts) {
      std::this_thread::sleep_for(delay);
      delay = std::min(delay * 2, policy.max_delay);
    }
  }
  Error error = tpm_error(rc, command, subject);
  error.code = Errc::unavailable;
  error.message = "TPM2_" + std::string(command) + (subject.empty() ? "" : " on " + std::string(subject)) +
                  " still returned " + rc_hex(rc) + " (retry, yielded or testing) after " +
                  std::to_string(attempts) + " attempts";
  error.hint = "the TPM is busy or still running its self-test; try again later";
  return fail(std::move(error));
}

void TctiDeleter::operator()(TSS2_TCTI_CONTEXT* context) const {
  Tss2_TctiLdr_Finalize(&context);
}

void EsysDeleter::operator()(ESYS_CONTEXT* context) const {
  Esys_Finalize(&context);
}

void EsysHandle::reset() {
  if (context_ != nullptr && handle_ != ESYS_TR_NONE) {
    // Errors cannot be reported from here; a failed flush leaves the object to
    // the resource manager, which flushes it when the connection closes.
    if (kind_ == Kind::flush) {
      (void)Esys_FlushContext(context_, handle_);
    } else {
      (void)Esys_TR_Close(context_, &handle_);
    }
  }
  context_ = nullptr;
  handle_ = ESYS_TR_NONE;
}

Tpm::~Tpm() = default;

Result<Tpm> Tpm::open(std::string_view tcti, RetryPolicy retry) {
  Tpm tpm;
  tpm.tcti_ = tcti.empty() ? std::string(kDefaultTcti) : std::string(tcti);
  tpm.retry_ = retry;

  std::string_view name = tpm.tcti_;
  std::string_view config;
  if (auto colon = name.find(':'); colon != std::string_view::npos) {
    config = name.substr(colon + 1);
    name = name.substr(0, colon);
  }
  if (name == "device" || name == "libtss2-tcti-device.so.0") {
    // Without a path, the device TCTI of tpm2-tss 3.x tries /dev/tpmrm0 and
    // then /dev/tpm0. Naming the path keeps it from falling back silently.
    if (config.empty()) {
      tpm.tcti_ = "device:" + std::string(kDefaultTcti.substr(kDefaultTcti.find(':') + 1));
      config = std::string_view(tpm.tcti_).substr(tpm.tcti_.find(':') + 1);
    }
    CVM_TRY(probe_device(std::string(config)));
  }

  TSS2_TCTI_CONTEXT* tcti_context = nullptr;
  TSS2_RC rc = Tss2_TctiLdr_Initialize(tpm.tcti_.c_str(), &tcti_context);
  if (rc != TSS2_RC_SUCCESS) {
    Error error = tpm_error(rc, "Tss2_TctiLdr_Initialize", "TCTI '" + tpm.tcti_ + "'");
    error.message = "cannot open TCTI '" + tpm.tcti_ + "' (" + rc_hex(rc) + ")";
    if (error.hint.empty()) {
      error.hint = "check the TCTI string, e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321";
    }
    return fail(std::move(error));
  }
  tpm.tcti_context_.reset(tcti_context);

  ESYS_CONTEXT* esys = nullptr;
  rc = Esys_Initialize(&esys, tpm.tcti_context_.get(), nullptr);
  if (rc != TSS2_RC_SUCCESS) {
    return fail(tpm_error(rc, "Esys_Initialize", "TCTI '" + tpm.tcti_ + "'"));
  }
  tpm.esys_.reset(esys);
  return tpm;
}

Result<std::uint32_t> Tpm::fixed_property(TPM2_PT property) const {
  TPMI_YES_NO more = TPM2_NO;
  TPMS_CAPABILITY_DATA* raw = nullptr;
  CVM_TRY(call("GetCapability", "TPM2_CAP_TPM_PROPERTIES", [&] {
    return Esys_GetCapability(esys(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, TPM2_CAP_TPM_PROPERTIES,
                              property, 1, &more, &raw);
  }));
  EsysPtr<TPMS_CAPABILITY_DATA> data(raw);
  const TPML_TAGGED_TPM_PROPERTY& list = data->data.tpmProperties;
  for (std::uint32_t i = 0; i < list.count && i < TPM2_MAX_TPM_PROPERTIES; ++i) {
    if (list.tpmProperty[i].property == property) {
      return list.tpmProperty[i].value;
    }
  }
  return fail(Errc::unsupported, "the TPM does not report property " + handle_hex(property));
}

Result<EsysHandle> Tpm::handle_from_tpm(TPM2_HANDLE tpm_handle) const {
  ESYS_TR object = ESYS_TR_NONE;
  CVM_TRY(call("ReadPublic", handle_hex(tpm_handle), [&] {
    return Esys_TR_FromTPMPublic(esys(), tpm_handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &object);
  }));
  return EsysHandle(esys(), object, EsysHandle::Kind::close);
}

}  // namespace cvm::vtpm
