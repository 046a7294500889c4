#include "client/certificates.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/fd.hpp"
#include "snp/verify.hpp"

namespace cvm::client {
namespace {

// A cache entry is three certificates; anything much larger is not one.
constexpr std::size_t kMaxEntrySize = 64 * 1024;

Result<void> write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t written = ::write(fd, data.data(), data.size());
    if (written < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail(errno_error(Errc::io, "cannot write " + path, errno));
    }
    data.remove_prefix(static_cast<std::size_t>(written));
  }
  return {};
}

Result<void> check_candidate(const std::string& pem, const snp::Report& report, snp::Product product,
                             const snp::TrustStore& trust, Clock::time_point now) {
  auto certificates = CVM_TRY(ossl::parse_certificates(as_bytes(pem), "certificate chain"));
  auto endorsement = CVM_TRY(snp::sort_endorsement(std::move(certificates)));
  snp::Verification verification =
      snp::verify_report(report, endorsement, trust, snp::VerifyOptions{.at = now, .configured_product = product});
  if (!verification.passed()) {
    std::string failed;
    for (const auto& check : verification.checks) {
      if (check.status == snp::CheckStatus::fail) {
        failed += (failed.empty() ? "" : "; ") + check.name + ": " + check.detail;
      }
    }
    return fail(Errc::verification_failed, "certificates do not verify the report: " + failed);
  }
  return {};
}

std::string join_pem(std::string_view first, std::string_view second) {
  std::string out(first);
  if (!out.empty() && out.back() != '\n') {
    out.push_back('\n');
  }
  out += second;
  return out;
}

}  // namespace

std::string CacheKey::file_name() const {
  return std::string(snp::product_name(product)) + "-" + hex_encode(chip_id) + "-" + snp::tcb_hex(reported_tcb) +
         ".pem";
}

std::optional<std::string> CertCache::load(const CacheKey& key) const {
  auto data = read_file(directory_ + "/" + key.file_name(), kMaxEntrySize);
  if (!data) {
    return std::nullopt;
  }
  return std::string(as_text(*data));
}

Result<void> CertCache::store(const CacheKey& key, std::string_view pem) const {
  if (::mkdir(directory_.c_str(), 0755) != 0 && errno != EEXIST) {
    return fail(errno_error(Errc::io, "cannot create certificate cache directory " + directory_, errno));
  }
  std::string final_path = directory_ + "/" + key.file_name();
  std::string temporary = final_path + ".tmp." + std::to_string(::getpid());
  UniqueFd fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) {
    return fail(errno_error(Errc::io, "cannot write certificate cache entry " + temporary, errno));
  }
  auto written = write_all(fd.get(), pem, temporary);
  if (!written || ::fsync(fd.get()) != 0) {
    Error error = written ? errno_error(Errc::io, "cannot sync " + temporary, errno) : written.error();
    ::unlink(temporary.c_str());
    return fail(std::move(error));
  }
  fd.reset();
  if (::rename(temporary.c_str(), final_path.c_str()) != 0) {
    int saved = errno;
    ::unlink(temporary.c_str());
    return fail(errno_error(Errc::io, "cannot rename " + temporary + " to " + final_path, saved));
  }
  return {};
}

void CertCache::remove(const CacheKey& key) const { ::unlink((directory_ + "/" + key.file_name()).c_str()); }

std::string_view certificate_origin_name(CertificateOrigin origin) {
  switch (origin) {
    case CertificateOrigin::cache: return "cache";
    case CertificateOrigin::thim: return "thim";
    case CertificateOrigin::kds: return "kds";
  }
  return "unknown";
}

Result<Certificates> obtain_certificates(const snp::Report& report, snp::Product product,
                                         const snp::TrustStore& trust, Clock::time_point now,
                                         const CertificateSourceOptions& options) {
  auto problem = [&](CertificateOrigin origin, const Error& error) {
    if (options.on_problem) {
      options.on_problem(origin, error);
    }
  };
  CacheKey key{.product = product, .chip_id = report.chip_id, .reported_tcb = report.reported_tcb};
  std::optional<CertCache> cache;
  if (!options.cache_directory.empty()) {
    cache.emplace(options.cache_directory);
    if (auto cached = cache->load(key)) {
      auto checked = check_candidate(*cached, report, product, trust, now);
      if (checked) {
        return Certificates{.pem = std::move(*cached), .origin = CertificateOrigin::cache};
      }
      problem(CertificateOrigin::cache, std::move(checked).error().prefixed("dropping cache entry " + key.file_name()));
      cache->remove(key);
    }
  }

  auto store = [&](const Certificates& found) {
    if (cache) {
      auto stored = cache->store(key, found.pem);
      if (!stored) {
        problem(CertificateOrigin::cache, stored.error());
      }
    }
  };

  Error last{.code = Errc::not_found, .message = "no certificate source is enabled",
             .hint = "enable THIM or AMD KDS, or provide the VCEK chain"};
  if (options.use_thim) {
    auto thim = fetch_thim_certificates(options.imds);
    if (thim) {
      std::string pem = join_pem(thim->vcek_pem, thim->chain_pem);
      auto checked = check_candidate(pem, report, product, trust, now);
      if (checked) {
        Certificates found{.pem = std::move(pem), .origin = CertificateOrigin::thim};
        store(found);
        return found;
      }
      last = std::move(checked).error().prefixed("THIM certificates rejected");
    } else {
      last = std::move(thim).error();
    }
    problem(CertificateOrigin::thim, last);
  }
  if (options.use_kds) {
    snp::Tcb tcb = snp::decode_tcb(report.reported_tcb, product);
    snp::EndorsementKey kind =
        report.signing_key() == snp::SigningKey::vlek ? snp::EndorsementKey::vlek : snp::EndorsementKey::vcek;
    auto vcek = fetch_vcek(options.kds, product, report.chip_id, tcb);
    auto chain = vcek ? fetch_cert_chain(options.kds, product, kind) : Result<std::string>(fail(vcek.error()));
    if (vcek && chain) {
      auto certificate = ossl::parse_der_certificate(*vcek);
      if (certificate) {
        std::string pem = join_pem(ossl::certificate_pem(certificate->get()), *chain);
        auto checked = check_candidate(pem, report, product, trust, now);
        if (checked) {
          Certificates found{.pem = std::move(pem), .origin = CertificateOrigin::kds};
          store(found);
          return found;
        }
        last = std::move(checked).error().prefixed("AMD KDS certificates rejected");
      } else {
        last = std::move(certificate).error().prefixed("AMD KDS returned an invalid VCEK");
      }
    } else {
      last = vcek ? std::move(chain).error() : std::move(vcek).error();
    }
    problem(CertificateOrigin::kds, last);
  }
  return fail(std::move(last));
}

}  // namespace cvm::client
