// URLs of AMD's Key Distribution Service (KDS). Pure functions; no network.
//
// Paths per AMD publication 57230 ("Versioned Chip Endorsement Key (VCEK)
// Certificate and KDS Interface Specification").
#pragma once

#include <string>
#include <string_view>

#include "common/bytes.hpp"
#include "snp/tcb.hpp"

namespace cvm::snp {

inline constexpr std::string_view kDefaultKdsBaseUrl = "https://kdsintf.amd.com";

enum class EndorsementKey { vcek, vlek };

// `{base}/vcek/v1/{product}/{hwid}?blSPL=..&teeSPL=..&snpSPL=..&ucodeSPL=..`,
// plus `&fmcSPL=..` on Turin. hwid is CHIP_ID in lowercase hex: 64 bytes, or
// the first 8 on Turin. SPLs are decimal, zero-padded to two digits.
[[nodiscard]] std::string kds_vcek_url(std::string_view base, Product product, ByteView chip_id,
                                       const Tcb& reported_tcb);
// `{base}/{vcek|vlek}/v1/{product}/cert_chain`, returning PEM: ASK (or ASVK), then ARK.
[[nodiscard]] std::string kds_cert_chain_url(std::string_view base, Product product, EndorsementKey key);
// `{base}/{vcek|vlek}/v1/{product}/crl`.
[[nodiscard]] std::string kds_crl_url(std::string_view base, Product product, EndorsementKey key);

}  // namespace cvm::snp
