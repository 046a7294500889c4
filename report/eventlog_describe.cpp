// Names and short descriptions of TCG events for display. Event types:
// TCG PC Client Platform Firmware Profile Specification, table "Events".
#include <cstdio>
#include <cstring>

#include "report/eventlog.hpp"

namespace cvm::report {
namespace {

// Descriptions longer than this are cut; they are one line of a listing.
constexpr std::size_t kMaxDescription = 96;

struct EventTypeName {
  std::uint32_t value;
  const char* name;
};

constexpr EventTypeName kEventTypeNames[] = {
    {0x00000000, "EV_PREBOOT_CERT"},
    {0x00000001, "EV_POST_CODE"},
    {0x00000002, "EV_UNUSED"},
    {0x00000003, "EV_NO_ACTION"},
    {0x00000004, "EV_SEPARATOR"},
    {0x00000005, "EV_ACTION"},
    {0x00000006, "EV_EVENT_TAG"},
    {0x00000007, "EV_S_CRTM_CONTENTS"},
    {0x00000008, "EV_S_CRTM_VERSION"},
    {0x00000009, "EV_CPU_MICROCODE"},
    {0x0000000a, "EV_PLATFORM_CONFIG_FLAGS"},
    {0x0000000b, "EV_TABLE_OF_DEVICES"},
    {0x0000000c, "EV_COMPACT_HASH"},
    {0x0000000d, "EV_IPL"},
    {0x0000000e, "EV_IPL_PARTITION_DATA"},
    {0x0000000f, "EV_NONHOST_CODE"},
    {0x00000010, "EV_NONHOST_CONFIG"},
    {0x00000011, "EV_NONHOST_INFO"},
    {0x00000012, "EV_OMIT_BOOT_DEVICE_EVENTS"},
    {0x00000013, "EV_POST_CODE2"},
    {0x80000000, "EV_EFI_EVENT_BASE"},
    {0x80000001, "EV_EFI_VARIABLE_DRIVER_CONFIG"},
    {0x80000002, "EV_EFI_VARIABLE_BOOT"},
    {0x80000003, "EV_EFI_BOOT_SERVICES_APPLICATION"},
    {0x80000004, "EV_EFI_BOOT_SERVICES_DRIVER"},
    {0x80000005, "EV_EFI_RUNTIME_SERVICES_DRIVER"},
    {0x80000006, "EV_EFI_GPT_EVENT"},
    {0x80000007, "EV_EFI_ACTION"},
    {0x80000008, "EV_EFI_PLATFORM_FIRMWARE_BLOB"},
    {0x80000009, "EV_EFI_HANDOFF_TABLES"},
    {0x8000000a, "EV_EFI_PLATFORM_FIRMWARE_BLOB2"},
    {0x8000000b, "EV_EFI_HANDOFF_TABLES2"},
    {0x8000000c, "EV_EFI_VARIABLE_BOOT2"},
    {0x8000000d, "EV_EFI_GPT_EVENT2"},
    {0x80000010, "EV_EFI_HCRTM_EVENT"},
    {0x800000e0, "EV_EFI_VARIABLE_AUTHORITY"},
    {0x800000e1, "EV_EFI_SPDM_FIRMWARE_BLOB"},
    {0x800000e2, "EV_EFI_SPDM_FIRMWARE_CONFIG"},
    {0x800000e3, "EV_EFI_SPDM_DEVICE_POLICY"},
    {0x800000e4, "EV_EFI_SPDM_DEVICE_AUTHORITY"},
};

bool is_printable(std::uint8_t c) { return c >= 0x20 && c < 0x7f; }

std::string shorten(std::string text) {
  if (text.size() > kMaxDescription) {
    text.resize(kMaxDescription - 3);
    text += "...";
  }
  return text;
}

// The event data as text when it is printable ASCII, ignoring trailing NULs.
std::string ascii_text(ByteView data) {
  while (!data.empty() && data.back() == 0) {
    data = data.first(data.size() - 1);
  }
  if (data.empty()) {
    return {};
  }
  for (std::uint8_t c : data) {
    if (!is_printable(c) && c != '\t') {
      return {};
    }
  }
  return shorten(std::string(as_text(data)));
}

// UCS-2 text as ASCII, with '?' for characters outside it; stops at a NUL.
std::string ucs2_text(ByteView data) {
  std::string out;
  for (std::size_t i = 0; i + 1 < data.size(); i += 2) {
    std::uint16_t unit = static_cast<std::uint16_t>(data[i] | (data[i + 1] << 8));
    if (unit == 0) {
      break;
    }
    out.push_back(unit < 0x80 && is_printable(static_cast<std::uint8_t>(unit)) ? static_cast<char>(unit) : '?');
  }
  return out;
}

std::string guid_text(ByteView guid) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                guid[3], guid[2], guid[1], guid[0], guid[5], guid[4], guid[7], guid[6], guid[8], guid[9],
                guid[10], guid[11], guid[12], guid[13], guid[14], guid[15]);
  return buffer;
}

// UEFI_VARIABLE_DATA: VariableName GUID, UnicodeNameLength and
// VariableDataLength (UINT64 each), then the name in UCS-2 and the data.
std::string describe_variable(ByteView data) {
  ByteReader reader(data);
  auto guid = reader.bytes(16, "variable_name");
  auto name_length = reader.u64le("unicode_name_length");
  auto data_length = reader.u64le("variable_data_length");
  if (!guid || !name_length || !data_length || *name_length > reader.remaining() / 2) {
    return {};
  }
  auto name = reader.bytes(static_cast<std::size_t>(*name_length) * 2, "unicode_name");
  if (!name) {
    return {};
  }
  return shorten(ucs2_text(*name) + " (" + guid_text(*guid) + "), " + std::to_string(*data_length) +
                 " bytes of data");
}

// UEFI_IMAGE_LOAD_EVENT: location, length and link-time address (UINT64
// each), then the device path length and path.
std::string describe_image(ByteView data) {
  ByteReader reader(data);
  auto location = reader.u64le("image_location");
  auto length = reader.u64le("image_length");
  if (!location || !length) {
    return {};
  }
  char buffer[80];
  std::snprintf(buffer, sizeof buffer, "image of %llu bytes at 0x%llx",
                static_cast<unsigned long long>(*length), static_cast<unsigned long long>(*location));
  return buffer;
}

std::string describe_no_action(ByteView data) {
  // Every EV_NO_ACTION body defined so far starts with a NUL-terminated
  // signature of up to 16 bytes ("Spec ID Event03", "StartupLocality", ...).
  std::size_t length = 0;
  while (length < data.size() && length < 16 && data[length] != 0) {
    if (!is_printable(data[length])) {
      return {};
    }
    ++length;
  }
  if (length == 0) {
    return {};
  }
  std::string text(as_text(data.first(length)));
  if (text == "StartupLocality" && data.size() > 16) {
    text += ": locality " + std::to_string(data[16]);
  }
  return text;
}

std::string describe_separator(ByteView data) {
  if (data.size() == 4) {
    std::uint32_t value = static_cast<std::uint32_t>(data[0] | (data[1] << 8) | (data[2] << 16)) |
                          (static_cast<std::uint32_t>(data[3]) << 24);
    if (value == 0) {
      return "separator";
    }
    if (value == 0xffffffffu) {
      return "separator (firmware error)";
    }
  }
  return {};
}

// UEFI_PLATFORM_FIRMWARE_BLOB2: a length byte, the description, then base and length.
std::string describe_firmware_blob2(ByteView data) {
  if (data.empty() || data[0] == 0 || data.size() < 1u + data[0]) {
    return {};
  }
  return ascii_text(data.subspan(1, data[0]));
}

}  // namespace

std::string event_type_name(std::uint32_t event_type) {
  for (const EventTypeName& entry : kEventTypeNames) {
    if (entry.value == event_type) {
      return entry.name;
    }
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "EV_UNKNOWN_0x%08x", event_type);
  return buffer;
}

std::string describe_event(const Event& event) {
  ByteView data = event.data;
  switch (event.event_type) {
    case kEvNoAction:
      return describe_no_action(data);
    case kEvSeparator:
      return describe_separator(data);
    case 0x00000008:  // EV_S_CRTM_VERSION, a UCS-2 string
      return shorten(ucs2_text(data));
    case 0x80000001:  // EV_EFI_VARIABLE_DRIVER_CONFIG
    case 0x80000002:  // EV_EFI_VARIABLE_BOOT
    case 0x8000000c:  // EV_EFI_VARIABLE_BOOT2
    case 0x800000e0:  // EV_EFI_VARIABLE_AUTHORITY
      return describe_variable(data);
    case 0x80000003:  // EV_EFI_BOOT_SERVICES_APPLICATION
    case 0x80000004:  // EV_EFI_BOOT_SERVICES_DRIVER
    case 0x80000005:  // EV_EFI_RUNTIME_SERVICES_DRIVER
      return describe_image(data);
    case 0x8000000a:  // EV_EFI_PLATFORM_FIRMWARE_BLOB2
      return describe_firmware_blob2(data);
    default:
      // EV_POST_CODE, EV_ACTION, EV_EFI_ACTION, EV_IPL and others often carry plain text.
      return ascii_text(data);
  }
}

}  // namespace cvm::report
