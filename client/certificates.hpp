// The VCEK and its chain for a report: on-disk cache, then THIM, then AMD KDS.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "client/imds.hpp"
#include "client/kds.hpp"
#include "common/time.hpp"
#include "snp/certs.hpp"
#include "snp/report.hpp"

namespace cvm::client {

// Entries are keyed by product, chip id and reported TCB, so a TCB update
// (new microcode or firmware) misses and fetches the matching VCEK.
struct CacheKey {
  snp::Product product = snp::Product::milan;
  std::array<std::uint8_t, 64> chip_id{};
  std::uint64_t reported_tcb = 0;

  [[nodiscard]] std::string file_name() const;  // "<product>-<chip id hex>-<tcb hex>.pem"
};

// A directory of PEM files, each VCEK then ASK then ARK. Writes are atomic
// (temporary file, fsync, rename), so a crash never leaves half an entry.
class CertCache {
 public:
  explicit CertCache(std::string directory) : directory_(std::move(directory)) {}

  [[nodiscard]] std::optional<std::string> load(const CacheKey& key) const;
  [[nodiscard]] Result<void> store(const CacheKey& key, std::string_view pem) const;
  void remove(const CacheKey& key) const;
  [[nodiscard]] const std::string& directory() const { return directory_; }

 private:
  std::string directory_;
};

enum class CertificateOrigin { cache, thim, kds };
[[nodiscard]] std::string_view certificate_origin_name(CertificateOrigin origin);

struct CertificateSourceOptions {
  std::string cache_directory;  // empty disables the cache
  bool use_thim = true;
  bool use_kds = true;
  ImdsOptions imds;
  KdsOptions kds;
  // Called for each source that failed or was skipped, and once when the
  // cache cannot be written; the caller decides what to log.
  std::function<void(CertificateOrigin origin, const Error& error)> on_problem;
};

struct Certificates {
  std::string pem;  // VCEK (or VLEK), ASK, ARK
  CertificateOrigin origin = CertificateOrigin::cache;
};

// Finds the VCEK chain for `report`. Every candidate, cached ones included,
// must pass snp::verify_report against `trust` at `now` before it is
// returned or cached; a cached entry that does not is removed and refetched.
[[nodiscard]] Result<Certificates> obtain_certificates(const snp::Report& report, snp::Product product,
                                                       const snp::TrustStore& trust, Clock::time_point now,
                                                       const CertificateSourceOptions& options);

}  // namespace cvm::client
