#include "vtpm/nv.hpp"

#include <algorithm>
#include <cstring>
#include <thread>

namespace cvm::vtpm {
namespace {

using Clock = std::chrono::steady_clock;

std::string index_name(TPM2_HANDLE index) {
  switch (index) {
    case kHclReportIndex: return "NV index " + handle_hex(index) + " (HCL report)";
    case kUserDataIndex: return "NV index " + handle_hex(index) + " (user data)";
    case kAkCertificateIndex: return "NV index " + handle_hex(index) + " (AK certificate)";
    default: return "NV index " + handle_hex(index);
  }
}

Error absent_index_error(Error error, TPM2_HANDLE index) {
  error.message = index_name(index) + " does not exist (" + error.message + ")";
  error.code = Errc::not_found;
  if (index == kHclReportIndex) {
    error.hint = "not an Azure confidential VM: the paravisor stores the HCL report at this index";
  } else {
    error.hint = "define the index first, or check the index number";
  }
  return error;
}

Error unwritten_index_error(TPM2_HANDLE index, int attempts) {
  Error error{.code = Errc::not_ready,
              .message = index_name(index) + " is defined but was never written (TPM_RC_NV_UNINITIALIZED), " +
                         std::to_string(attempts) + " attempts"};
  error.cause = Cause{.source = Cause::Source::tpm,
                      .code = TPM2_RC_NV_UNINITIALIZED,
                      .text = "tpm:error(2.0): an NV Index is used before being initialized"};
  if (index == kHclReportIndex) {
    error.message = "HCL report not ready: " + error.message;
    error.hint = "the paravisor has not written the report yet; try again later";
  } else if (index == kAkCertificateIndex) {
    error.hint = "the AK certificate has not been provisioned yet; try again later";
  } else {
    error.hint = "write the index before reading it";
  }
  return error;
}

Result<EsysHandle> nv_handle(const Tpm& tpm, TPM2_HANDLE index) {
  auto handle = tpm.handle_from_tpm(index);
  if (!handle) {
    if (handle.error().code == Errc::not_found) {
      return fail(absent_index_error(std::move(handle).error(), index));
    }
    return std::unexpected(std::move(handle).error());
  }
  return handle;
}

Result<NvPublic> read_public_of(const Tpm& tpm, const EsysHandle& nv, TPM2_HANDLE index) {
  TPM2B_NV_PUBLIC* raw_public = nullptr;
  TPM2B_NAME* raw_name = nullptr;
  CVM_TRY(tpm.call("NV_ReadPublic", index_name(index), [&] {
    return Esys_NV_ReadPublic(tpm.esys(), nv.get(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &raw_public,
                              &raw_name);
  }));
  EsysPtr<TPM2B_NV_PUBLIC> nv_public(raw_public);
  EsysPtr<TPM2B_NAME> name(raw_name);
  return NvPublic{.index = nv_public->nvPublic.nvIndex,
                  .attributes = nv_public->nvPublic.attributes,
                  .name_alg = nv_public->nvPublic.nameAlg,
                  .data_size = nv_public->nvPublic.dataSize};
}

Result<std::size_t> chunk_size(const Tpm& tpm, std::size_t cap, std::size_t buffer_size) {
  std::size_t chunk = CVM_TRY(tpm.fixed_property(TPM2_PT_NV_BUFFER_MAX));
  chunk = std::min(chunk, buffer_size);
  if (cap != 0) {
    chunk = std::min(chunk, cap);
  }
  if (chunk == 0) {
    return fail(Errc::invalid_data, "the TPM reports TPM2_PT_NV_BUFFER_MAX = 0");
  }
  return chunk;
}

// One pass of nv_read: Errc::not_ready when the index was never written.
Result<Bytes> read_once(const Tpm& tpm, TPM2_HANDLE index, const NvReadOptions& options) {
  EsysHandle nv = CVM_TRY(nv_handle(tpm, index));
  NvPublic info = CVM_TRY(read_public_of(tpm, nv, index));
  if (!info.written()) {
    return fail(Errc::not_ready, "not written");
  }

  ESYS_TR auth = ESYS_TR_RH_OWNER;
  if ((info.attributes & TPMA_NV_OWNERREAD) == 0) {
    if ((info.attributes & TPMA_NV_AUTHREAD) == 0) {
      return fail(Errc::unsupported, index_name(index) + " allows neither ownerread nor authread (attributes " +
                                         handle_hex(info.attributes) + ")");
    }
    auth = nv.get();
  }

  std::size_t chunk = CVM_TRY(chunk_size(tpm, options.max_chunk, sizeof(TPM2B_MAX_NV_BUFFER::buffer)));
  Bytes out;
  out.reserve(info.data_size);
  while (out.size() < info.data_size) {
    auto size = static_cast<std::uint16_t>(std::min<std::size_t>(chunk, info.data_size - out.size()));
    auto offset = static_cast<std::uint16_t>(out.size());
    TPM2B_MAX_NV_BUFFER* raw = nullptr;
    auto read = tpm.call("NV_Read", index_name(index), [&] {
      return Esys_NV_Read(tpm.esys(), auth, nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, size, offset,
                          &raw);
    });
    if (!read) {
      auto tpm_rc = tpm_response_code(static_cast<TSS2_RC>(read.error().cause.code));
      if (read.error().cause.source == Cause::Source::tpm && tpm_rc &&
          tpm_error_number(*tpm_rc) == TPM2_RC_NV_UNINITIALIZED) {
        return fail(Errc::not_ready, "not written");
      }
      return std::unexpected(std::move(read).error());
    }
    EsysPtr<TPM2B_MAX_NV_BUFFER> data(raw);
    if (data->size != size) {
      return fail(Errc::invalid_data, "TPM2_NV_Read of " + index_name(index) + " returned " +
                                          std::to_string(data->size) + " bytes at offset " + std::to_string(offset) +
                                          ", expected " + std::to_string(size));
    }
    out.insert(out.end(), data->buffer, data->buffer + data->size);
  }
  return out;
}

}  // namespace

Result<NvPublic> nv_read_public(const Tpm& tpm, TPM2_HANDLE index) {
  EsysHandle nv = CVM_TRY(nv_handle(tpm, index));
  return read_public_of(tpm, nv, index);
}

Result<Bytes> nv_read(const Tpm& tpm, TPM2_HANDLE index, const NvReadOptions& options) {
  int attempts = std::max(options.uninitialized_attempts, 1);
  std::chrono::milliseconds delay = options.uninitialized_delay;
  for (int attempt = 1;; ++attempt) {
    auto data = read_once(tpm, index, options);
    if (data || data.error().code != Errc::not_ready || data.error().cause.source != Cause::Source::none) {
      return data;
    }
    if (attempt >= attempts) {
      return fail(unwritten_index_error(index, attempts));
    }
    std::this_thread::sleep_for(delay);
    delay *= 2;
  }
}

Result<void> nv_write(const Tpm& tpm, TPM2_HANDLE index, ByteView data, std::uint16_t offset) {
  EsysHandle nv = CVM_TRY(nv_handle(tpm, index));
  std::size_t chunk = CVM_TRY(chunk_size(tpm, 0, sizeof(TPM2B_MAX_NV_BUFFER::buffer)));
  std::size_t written = 0;
  while (written < data.size()) {
    TPM2B_MAX_NV_BUFFER buffer{};
    buffer.size = static_cast<std::uint16_t>(std::min(chunk, data.size() - written));
    std::memcpy(buffer.buffer, data.data() + written, buffer.size);
    std::size_t position = offset + written;
    if (position > UINT16_MAX) {
      return fail(Errc::invalid_argument, "offset " + std::to_string(position) + " in " + index_name(index) +
                                              " is beyond the 16-bit NV offset range");
    }
    CVM_TRY(tpm.call("NV_Write", index_name(index), [&] {
      return Esys_NV_Write(tpm.esys(), ESYS_TR_RH_OWNER, nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                           &buffer, static_cast<std::uint16_t>(position));
    }));
    written += buffer.size;
  }
  return {};
}

Result<void> nv_define(const Tpm& tpm, TPM2_HANDLE index, std::uint16_t size, TPMA_NV attributes) {
  TPM2B_AUTH empty_auth{};
  TPM2B_NV_PUBLIC nv_public{};
  nv_public.nvPublic.nvIndex = index;
  nv_public.nvPublic.nameAlg = TPM2_ALG_SHA256;
  nv_public.nvPublic.attributes = attributes;
  nv_public.nvPublic.dataSize = size;
  ESYS_TR raw = ESYS_TR_NONE;
  CVM_TRY(tpm.call("NV_DefineSpace", index_name(index), [&] {
    return Esys_NV_DefineSpace(tpm.esys(), ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
                               &empty_auth, &nv_public, &raw);
  }));
  EsysHandle defined(tpm.esys(), raw, EsysHandle::Kind::close);
  return {};
}

Result<void> nv_undefine(const Tpm& tpm, TPM2_HANDLE index) {
  EsysHandle nv = CVM_TRY(nv_handle(tpm, index));
  CVM_TRY(tpm.call("NV_UndefineSpace", index_name(index), [&] {
    return Esys_NV_UndefineSpace(tpm.esys(), ESYS_TR_RH_OWNER, nv.get(), ESYS_TR_PASSWORD, ESYS_TR_NONE,
                                 ESYS_TR_NONE);
  }));
  // ESAPI drops the handle of an index it undefined.
  (void)nv.release();
  return {};
}

Result<Bytes> read_hcl_report(const Tpm& tpm, const NvReadOptions& options) {
  return nv_read(tpm, kHclReportIndex, options);
}

Result<PlatformDetection> detect_platform(const Tpm& tpm, const NvReadOptions& options) {
  auto report = read_hcl_report(tpm, options);
  if (!report) {
    if (report.error().code == Errc::not_found) {
      return PlatformDetection{.azure_cvm = false,
                               .reason = "NV index " + handle_hex(kHclReportIndex) +
                                         " (HCL report) does not exist in this TPM"};
    }
    return std::unexpected(std::move(report).error());
  }
  static constexpr std::uint8_t kSignature[] = {'H', 'C', 'L', 'A'};
  if (report->size() < sizeof kSignature || !std::equal(std::begin(kSignature), std::end(kSignature), report->begin())) {
    std::size_t shown = std::min<std::size_t>(report->size(), 4);
    return PlatformDetection{.azure_cvm = false,
                             .reason = "NV index " + handle_hex(kHclReportIndex) + " starts with 0x" +
                                       hex_encode(ByteView(*report).first(shown)) + ", not \"HCLA\""};
  }
  return PlatformDetection{.azure_cvm = true,
                           .reason = "NV index " + handle_hex(kHclReportIndex) + " holds an HCL report (" +
                                     std::to_string(report->size()) + " bytes)"};
}

Result<void> write_user_data(const Tpm& tpm, ByteView user_data) {
  if (user_data.size() > kUserDataSize) {
    return fail(Errc::invalid_argument, "user data is " + std::to_string(user_data.size()) +
                                            " bytes; NV index " + handle_hex(kUserDataIndex) + " holds at most " +
                                            std::to_string(kUserDataSize));
  }
  constexpr TPMA_NV kAttributes = TPMA_NV_OWNERWRITE | TPMA_NV_OWNERREAD;
  auto existing = nv_read_public(tpm, kUserDataIndex);
  if (!existing && existing.error().code != Errc::not_found) {
    return std::unexpected(std::move(existing).error());
  }
  bool usable = existing && existing->data_size == kUserDataSize &&
                (existing->attributes & kAttributes) == kAttributes;
  if (existing && !usable) {
    CVM_TRY(nv_undefine(tpm, kUserDataIndex));
  }
  if (!usable) {
    CVM_TRY(nv_define(tpm, kUserDataIndex, kUserDataSize, kAttributes));
  }
  Bytes padded(kUserDataSize, 0);
  std::copy(user_data.begin(), user_data.end(), padded.begin());
  return nv_write(tpm, kUserDataIndex, padded);
}

Result<RefreshedReport> refresh_hcl_report(std::string_view tcti, const FreshnessPredicate& is_fresh,
                                           const RefreshOptions& options) {
  if (!is_fresh) {
    return fail(Errc::invalid_argument, "refresh_hcl_report needs a freshness predicate");
  }
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + options.total;
  std::chrono::milliseconds step = options.first_step;
  int reads = 0;
  std::optional<Error> last_transient;

  for (;;) {
    {
      Tpm tpm = CVM_TRY(Tpm::open(tcti, options.retry));
      auto report = read_hcl_report(tpm, options.read);
      if (report) {
        ++reads;
        bool fresh = CVM_TRY(is_fresh(*report));
        if (fresh) {
          return RefreshedReport{.hcl_report = std::move(*report), .reads = reads};
        }
      } else if (report.error().code == Errc::not_ready || report.error().code == Errc::unavailable) {
        last_transient = std::move(report).error();
      } else {
        return std::unexpected(std::move(report).error());
      }
    }

    Clock::time_point now = Clock::now();
    if (now >= deadline) {
      break;
    }
    std::this_thread::sleep_for(std::min<Clock::duration>(step, deadline - now));
    step = std::min(step * 2, options.max_step);
  }

  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  Error error{.code = Errc::timed_out,
              .message = "the HCL report was still stale after " + std::to_string(reads) + " reads in " +
                         std::to_string(waited.count()) + " ms",
              .hint = "the paravisor renews the report at most every 2 s; allow a longer total wait"};
  if (last_transient) {
    error.message += "; last read error: " + last_transient->to_string();
  }
  return fail(std::move(error));
}

}  // namespace cvm::vtpm
