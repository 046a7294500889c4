// CPU products and the TCB_VERSION encodings that depend on them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace cvm::snp {

enum class Product { milan, genoa, turin };

// The name AMD's KDS uses in URL paths: "Milan", "Genoa", "Turin".
[[nodiscard]] std::string_view product_name(Product product);

// Parses a product name as found in a VCEK's product-name extension or in
// configuration. A stepping suffix ("Milan-B0") is accepted and ignored; case
// is ignored.
[[nodiscard]] Result<Product> parse_product_name(std::string_view name);

// Maps the CPUID family and model that version 3 and later reports carry.
// Returns nullopt for a known family whose model this agent cannot place
// (the caller then falls back to the VCEK or configuration); an unknown family
// is an error.
//
// Model ranges, from virtee/sev `Generation::identify_cpu` (2026-04):
// family 19h models 00h-0Fh Milan, 10h-1Fh and A0h-AFh Genoa; family 1Ah
// models 00h-11h Turin. Other family 1Ah models are disputed between Turin and
// Venice in public sources, so they are left to the VCEK.
[[nodiscard]] Result<std::optional<Product>> product_from_cpuid(std::uint8_t family,
                                                                std::uint8_t model);

// One decoded TCB_VERSION. Milan and Genoa use the legacy byte layout
// (boot loader, TEE, 4 reserved, SNP, microcode); Turin puts FMC first
// (FMC, boot loader, TEE, SNP, 3 reserved, microcode).
struct Tcb {
  std::uint64_t raw = 0;  // the 8 bytes read little-endian
  std::uint8_t bootloader = 0;
  std::uint8_t tee = 0;
  std::uint8_t snp = 0;
  std::uint8_t microcode = 0;
  std::optional<std::uint8_t> fmc;  // Turin only

  friend bool operator==(const Tcb&, const Tcb&) = default;
};

[[nodiscard]] Tcb decode_tcb(std::uint64_t raw, Product product);

// The bytes of the raw value that the layout of `product` leaves reserved and
// that are not zero; 0 when all reserved bytes are zero.
[[nodiscard]] std::uint64_t tcb_reserved_bits(std::uint64_t raw, Product product);

// Azure's tools print a TCB as its 8 bytes in reverse order, e.g. "db16000000000004".
[[nodiscard]] std::string tcb_hex(std::uint64_t raw);

}  // namespace cvm::snp
