// AMD certificates: VCEK/VLEK extensions, pinned roots and chain checks.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/bytes.hpp"
#include "common/openssl.hpp"
#include "common/time.hpp"
#include "snp/tcb.hpp"

namespace cvm::snp {

// X.509 extensions under 1.3.6.1.4.1.3704.1 that AMD puts into VCEK and VLEK
// certificates (AMD publication 57230, "Versioned Chip Endorsement Key
// Certificate"; OIDs as in google/go-sev-guest kds/kds.go).
struct VcekExtensions {
  std::optional<std::int64_t> struct_version;  // .1.1
  std::optional<std::string> product_name;     // .1.2, e.g. "Milan-B0"
  std::optional<std::uint8_t> bootloader_spl;  // .1.3.1
  std::optional<std::uint8_t> tee_spl;         // .1.3.2
  std::optional<std::uint8_t> snp_spl;         // .1.3.3
  std::optional<std::uint8_t> microcode_spl;   // .1.3.8
  std::optional<std::uint8_t> fmc_spl;         // .1.3.9, Turin only
  std::optional<Bytes> hwid;                   // .1.4, 64 bytes (8 on Turin); absent in VLEKs
  std::optional<std::string> csp_id;           // .1.5, VLEK only
};

// Reads the AMD extensions of a certificate. Malformed values (an SPL that is
// not an INTEGER in 0-255, a duplicated extension) are errors; absent
// extensions are left empty.
[[nodiscard]] Result<VcekExtensions> parse_vcek_extensions(X509* certificate);
// The same from DER bytes; used by the fuzz target and the CLI.
[[nodiscard]] Result<VcekExtensions> parse_vcek_extensions(ByteView der);

// An AMD root pinned in the code by the SHA-256 of its DER encoding.
struct PinnedRoot {
  Product product;
  const char* common_name;
  const char* sha256;
};

// ARK-Milan, ARK-Genoa and ARK-Turin as published by AMD's KDS
// (`/vcek/v1/{product}/cert_chain`).
[[nodiscard]] std::span<const PinnedRoot> pinned_amd_roots();

// Roots a chain may end in: the pinned AMD ARKs plus, optionally, roots the
// operator configured (a test or emulated environment's own ARK).
class TrustStore {
 public:
  TrustStore() = default;
  // The pinned AMD roots only.
  static TrustStore amd();

  void set_include_amd(bool include) { include_amd_ = include; }
  void add_root(ossl::UniqueX509 root) { extra_roots_.push_back(std::move(root)); }
  // Adds every certificate of a PEM or DER file as an extra root.
  [[nodiscard]] Result<void> add_roots_from_file(const std::string& path);

  // The pinned root matching this certificate's fingerprint, if any.
  [[nodiscard]] std::optional<PinnedRoot> pinned(X509* certificate) const;
  // True when the certificate is a pinned AMD root or byte-equal to an extra root.
  [[nodiscard]] bool trusts(X509* certificate) const;
  [[nodiscard]] const std::vector<ossl::UniqueX509>& extra_roots() const { return extra_roots_; }

 private:
  bool include_amd_ = true;
  std::vector<ossl::UniqueX509> extra_roots_;
};

// A VCEK or VLEK and the certificates offered to chain it (ASK or ASVK, ARK),
// in any order.
struct Endorsement {
  ossl::UniqueX509 leaf;
  std::vector<ossl::UniqueX509> chain;
};

// Sorts certificates from one or more inputs into the EC P-384 leaf and the
// RSA chain certificates. Exactly one EC leaf must be present.
[[nodiscard]] Result<Endorsement> sort_endorsement(std::vector<ossl::UniqueX509> certificates);

// The outcome of checking the chain from a trusted root to the leaf.
struct ChainResult {
  X509* root = nullptr;           // borrowed from the endorsement or the trust store
  X509* intermediate = nullptr;   // ASK or ASVK
  std::optional<PinnedRoot> pinned;
};

// Checks root self-signature and trust, intermediate by root, leaf by
// intermediate, and each certificate's validity at `at`.
[[nodiscard]] Result<ChainResult> verify_chain(const Endorsement& endorsement,
                                               const TrustStore& trust, Clock::time_point at);

// True when the leaf is a VLEK (it carries a cspID, or its subject names VLEK).
[[nodiscard]] bool is_vlek(X509* leaf, const VcekExtensions& extensions);

}  // namespace cvm::snp
