#include "snp/tcb.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace cvm::snp {
namespace {

std::uint8_t byte_at(std::uint64_t raw, int index) {
  return static_cast<std::uint8_t>((raw >> (8 * index)) & 0xff);
}

std::string hex_byte(std::uint8_t value) {
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "%02Xh", value);
  return buffer;
}

}  // namespace

std::string_view product_name(Product product) {
  switch (product) {
    case Product::milan: return "Milan";
    case Product::genoa: return "Genoa";
    case Product::turin: return "Turin";
  }
  return "unknown";
}

Result<Product> parse_product_name(std::string_view name) {
  std::string_view base = name.substr(0, name.find('-'));
  std::string lower(base);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "milan") return Product::milan;
  if (lower == "genoa") return Product::genoa;
  if (lower == "turin") return Product::turin;
  return fail(Error{.code = Errc::unsupported,
                    .message = "unknown SEV-SNP product name '" + std::string(name) + "'",
                    .hint = "supported products are Milan, Genoa and Turin"});
}

Result<std::optional<Product>> product_from_cpuid(std::uint8_t family, std::uint8_t model) {
  if (family == 0x19) {
    if (model <= 0x0f) return Product::milan;
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return Product::genoa;
    return std::optional<Product>{};
  }
  if (family == 0x1a) {
    if (model <= 0x11) return Product::turin;
    return std::optional<Product>{};
  }
  return fail(Error{.code = Errc::unsupported,
                    .message = "unknown CPU family " + hex_byte(family) + " (model " + hex_byte(model) +
                               ") in the report's CPUID fields",
                    .hint = "this agent knows families 19h (Milan, Genoa) and 1Ah (Turin)"});
}

Tcb decode_tcb(std::uint64_t raw, Product product) {
  Tcb tcb{.raw = raw};
  if (product == Product::turin) {
    tcb.fmc = byte_at(raw, 0);
    tcb.bootloader = byte_at(raw, 1);
    tcb.tee = byte_at(raw, 2);
    tcb.snp = byte_at(raw, 3);
  } else {
    tcb.bootloader = byte_at(raw, 0);
    tcb.tee = byte_at(raw, 1);
    tcb.snp = byte_at(raw, 6);
  }
  tcb.microcode = byte_at(raw, 7);
  return tcb;
}

std::uint64_t tcb_reserved_bits(std::uint64_t raw, Product product) {
  std::uint64_t mask = product == Product::turin ? 0x00ffffff00000000ULL : 0x0000ffffffff0000ULL;
  return raw & mask;
}

std::string tcb_hex(std::uint64_t raw) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(raw));
  return buffer;
}

}  // namespace cvm::snp
