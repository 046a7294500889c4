// `cvm-attest eventlog show` and `cvm-attest eventlog replay`.
#include <json/value.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "agent/cli/commands.hpp"
#include "agent/cli/exit_codes.hpp"
#include "agent/cli/output.hpp"
#include "common/bytes.hpp"
#include "report/eventlog.hpp"

namespace cvm::cli {
namespace {

// Firmware logs are tens of kilobytes, so this limit only keeps a wrong
// file (a disk image, say) from being read into memory.
constexpr std::size_t kMaxEventLogFileSize = 64u << 20;

struct ShowOptions {
  std::string path;
  bool json = false;
};

struct ReplayOptions {
  std::string path;
  std::string bank = "sha256";
  bool json = false;
};

Result<report::EventLog> load_log(const std::string& path) {
  Bytes data = CVM_TRY(read_file(path, kMaxEventLogFileSize));
  auto log = report::parse_event_log(data);
  if (!log) {
    return std::unexpected(std::move(log).error().prefixed(path));
  }
  return log;
}

std::string format_name(report::EventLogFormat format) {
  return format == report::EventLogFormat::crypto_agile ? "crypto-agile" : "legacy-sha1";
}

std::string banks_text(const report::EventLog& log) {
  std::string out;
  for (const report::DeclaredAlgorithm& bank : log.banks()) {
    if (!out.empty()) {
      out += ", ";
    }
    out += report::algorithm_name(bank.algorithm_id);
  }
  return out;
}

Json::Value event_json(const report::Event& event) {
  Json::Value out(Json::objectValue);
  out["index"] = static_cast<Json::UInt64>(event.index);
  out["offset"] = static_cast<Json::UInt64>(event.offset);
  out["pcr"] = event.pcr_index;
  out["type"] = report::event_type_name(event.event_type);
  out["type_value"] = event.event_type;
  Json::Value digests(Json::objectValue);
  for (const report::EventDigest& digest : event.digests) {
    digests[report::algorithm_name(digest.algorithm_id)] = hex_encode(digest.value);
  }
  out["digests"] = digests;
  out["data_size"] = static_cast<Json::UInt64>(event.data.size());
  std::string description = report::describe_event(event);
  if (!description.empty()) {
    out["description"] = description;
  }
  return out;
}

Json::Value log_json(const report::EventLog& log) {
  Json::Value out(Json::objectValue);
  out["format"] = format_name(log.format);
  Json::Value banks(Json::arrayValue);
  for (const report::DeclaredAlgorithm& bank : log.banks()) {
    Json::Value entry(Json::objectValue);
    entry["algorithm"] = report::algorithm_name(bank.algorithm_id);
    entry["algorithm_id"] = bank.algorithm_id;
    entry["digest_size"] = bank.digest_size;
    banks.append(entry);
  }
  out["banks"] = banks;
  if (log.spec_id) {
    Json::Value spec(Json::objectValue);
    spec["platform_class"] = log.spec_id->platform_class;
    spec["spec_version"] = std::to_string(log.spec_id->spec_version_major) + "." +
                           std::to_string(log.spec_id->spec_version_minor);
    spec["spec_errata"] = log.spec_id->spec_errata;
    spec["uintn_size"] = log.spec_id->uintn_size;
    spec["vendor_info"] = hex_encode(log.spec_id->vendor_info);
    out["spec_id"] = spec;
  }
  Json::Value events(Json::arrayValue);
  for (const report::Event& event : log.events) {
    events.append(event_json(event));
  }
  out["events"] = events;
  out["padding_size"] = static_cast<Json::UInt64>(log.padding_size);
  return out;
}

std::string log_text(const report::EventLog& log) {
  std::ostringstream out;
  out << format_name(log.format) << " event log, " << log.events.size() << " events (the first is the "
      << (log.spec_id ? "Spec ID header" : "first measurement") << "), banks " << banks_text(log) << "\n";
  for (const report::Event& event : log.events) {
    char head[160];
    std::snprintf(head, sizeof head, "#%-4zu PCR %-2u %-34s %6zu bytes", event.index, event.pcr_index,
                  report::event_type_name(event.event_type).c_str(), event.data.size());
    out << head;
    std::string description = report::describe_event(event);
    if (!description.empty()) {
      out << "  " << description;
    }
    out << "\n";
    for (const report::EventDigest& digest : event.digests) {
      char label[16];
      std::snprintf(label, sizeof label, "%-7s", report::algorithm_name(digest.algorithm_id).c_str());
      out << "      " << label << hex_encode(digest.value) << "\n";
    }
  }
  if (log.padding_size != 0) {
    out << log.padding_size << " zero bytes of padding follow the last event\n";
  }
  return out.str();
}

int run_show(const ShowOptions& options) {
  auto log = load_log(options.path);
  if (!log) {
    return report_error(log.error(), options.json);
  }
  if (options.json) {
    print_json(log_json(*log));
  } else {
    std::cout << log_text(*log);
  }
  return kExitOk;
}

int run_replay(const ReplayOptions& options) {
  auto algorithm = report::parse_algorithm_name(options.bank);
  if (!algorithm) {
    return report_error(algorithm.error(), options.json);
  }
  auto log = load_log(options.path);
  if (!log) {
    return report_error(log.error(), options.json);
  }
  auto bank = report::replay_event_log(*log, *algorithm);
  if (!bank) {
    Error error = std::move(bank).error();
    if (error.code == Errc::not_found) {
      // The log parsed, but the option requests a bank it does not carry.
      error.code = Errc::invalid_argument;
      error.hint = "the log carries " + banks_text(*log);
    }
    return report_error(error, options.json);
  }
  if (options.json) {
    Json::Value out(Json::objectValue);
    for (const auto& [index, value] : bank->values) {
      out[std::to_string(index)] = hex_encode(value);
    }
    print_json(out);
  } else {
    std::cout << report::algorithm_name(*algorithm) << " PCRs replayed from " << options.path << "\n";
    for (const auto& [index, value] : bank->values) {
      char label[16];
      std::snprintf(label, sizeof label, "PCR %2u: ", index);
      std::cout << label << hex_encode(value) << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void add_eventlog_commands(CLI::App& app, CommandContext& context) {
  auto* eventlog = app.add_subcommand("eventlog", "Inspect and replay TCG measured-boot event logs");
  eventlog->require_subcommand(1);

  auto show_options = std::make_shared<ShowOptions>();
  auto* show = eventlog->add_subcommand("show", "List the events of a log with their digests");
  show->add_option("file", show_options->path,
                   "event log file, e.g. /sys/kernel/security/tpm0/binary_bios_measurements")
      ->required();
  show->add_flag("--json", show_options->json, "Print JSON");
  show->callback([show_options, &context] { context.exit_code = run_show(*show_options); });

  auto replay_options = std::make_shared<ReplayOptions>();
  auto* replay = eventlog->add_subcommand("replay", "Compute the PCR values a log implies");
  replay->add_option("file", replay_options->path,
                     "event log file, e.g. /sys/kernel/security/tpm0/binary_bios_measurements")
      ->required();
  replay->add_option("--bank", replay_options->bank, "PCR bank to replay: sha1, sha256, sha384 or sha512")
      ->capture_default_str();
  replay->add_flag("--json", replay_options->json, "Print JSON: PCR index to lowercase hex value");
  replay->callback([replay_options, &context] { context.exit_code = run_replay(*replay_options); });
}

}  // namespace cvm::cli
