#include "snp/kds.hpp"

#include <cstdio>

namespace cvm::snp {
namespace {

std::string trimmed_base(std::string_view base) {
  while (!base.empty() && base.back() == '/') {
    base.remove_suffix(1);
  }
  return std::string(base);
}

std::string key_path(EndorsementKey key) { return key == EndorsementKey::vlek ? "vlek" : "vcek"; }

std::string spl(const char* name, std::uint8_t value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%s=%02u", name, static_cast<unsigned>(value));
  return buffer;
}

}  // namespace

std::string kds_vcek_url(std::string_view base, Product product, ByteView chip_id, const Tcb& reported_tcb) {
  std::size_t hwid_size = product == Product::turin ? 8 : 64;
  ByteView hwid = chip_id.first(std::min(hwid_size, chip_id.size()));
  // Built by appending: GCC 12 at -O3 reports a false -Wrestrict on a long chain of operator+.
  std::string url = trimmed_base(base);
  url.append("/vcek/v1/").append(product_name(product)).append("/").append(hex_encode(hwid));
  url.append("?").append(spl("blSPL", reported_tcb.bootloader));
  url.append("&").append(spl("teeSPL", reported_tcb.tee));
  url.append("&").append(spl("snpSPL", reported_tcb.snp));
  url.append("&").append(spl("ucodeSPL", reported_tcb.microcode));
  if (product == Product::turin && reported_tcb.fmc) {
    url.append("&").append(spl("fmcSPL", *reported_tcb.fmc));
  }
  return url;
}

std::string kds_cert_chain_url(std::string_view base, Product product, EndorsementKey key) {
  return trimmed_base(base) + "/" + key_path(key) + "/v1/" + std::string(product_name(product)) + "/cert_chain";
}

std::string kds_crl_url(std::string_view base, Product product, EndorsementKey key) {
  return trimmed_base(base) + "/" + key_path(key) + "/v1/" + std::string(product_name(product)) + "/crl";
}

}  // namespace cvm::snp
