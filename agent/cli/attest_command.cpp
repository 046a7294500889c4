// `cvm-attest evidence`, `attest`, `token` and `status`.
#include <json/writer.h>

#include <fstream>
#include <iostream>
#include <memory>

#include "agent/attester.hpp"
#include "agent/cli/agent_options.hpp"
#include "agent/cli/commands.hpp"
#include "agent/cli/exit_codes.hpp"
#include "agent/cli/output.hpp"
#include "client/http.hpp"
#include "client/jwt.hpp"
#include "common/json.hpp"

namespace cvm::cli {
namespace {

constexpr const char* kDefaultSocket = "/run/cvm-attest/agent.sock";

struct EvidenceOptions {
  AgentOptions agent;
  std::string format = "azure-guest";
  std::string nonce_hex;
  std::string out;
};

struct AttestOptions {
  AgentOptions agent;
  std::string nonce_hex;
  bool claims = false;
  bool json = false;
};

struct DaemonOptions {
  std::string socket = kDefaultSocket;
  std::string nonce_hex;
  bool claims = false;
  bool json = false;
};

Result<std::optional<Bytes>> parse_nonce(const std::string& hex) {
  if (hex.empty()) {
    return std::optional<Bytes>{};
  }
  auto bytes = hex_decode(hex);
  if (!bytes) {
    return fail(std::move(bytes).error().prefixed("--nonce"));
  }
  if (bytes->empty() || bytes->size() > 50) {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "--nonce is " + std::to_string(bytes->size()) + " bytes; it must be 1 to 50",
                      .hint = "a TPM quote carries at most 50 bytes of nonce here; hash longer values first"});
  }
  return std::optional<Bytes>(std::move(*bytes));
}

agent::AttesterEvents stderr_events() {
  return agent::AttesterEvents{.info = [](const std::string& message) { std::cerr << "cvm-attest: " << message << "\n"; },
                        .warning = [](const std::string& message) { std::cerr << "cvm-attest: warning: " << message << "\n"; },
                        .stages = {}};
}

int run_evidence(const EvidenceOptions& options) {
  auto config = options.agent.resolve();
  if (!config) return report_error(config.error(), false);
  auto format = report::parse_evidence_format(options.format);
  if (!format) return report_error(format.error(), false);
  auto nonce = parse_nonce(options.nonce_hex);
  if (!nonce) return report_error(nonce.error(), false);
  agent::Attester attester(*config, stderr_events());
  auto evidence = attester.evidence(*nonce, *format);
  if (!evidence) return report_error(evidence.error(), false);
  if (options.out.empty() || options.out == "-") {
    std::cout << *evidence << "\n";
    return kExitOk;
  }
  std::ofstream file(options.out, std::ios::trunc);
  file << *evidence << "\n";
  if (!file) {
    return report_error(errno_error(Errc::io, "cannot write " + options.out, errno), false);
  }
  return kExitOk;
}

Json::Value claims_of(const std::string& jwt) {
  auto token = client::parse_jwt(jwt);
  return token ? token->payload : Json::Value(Json::nullValue);
}

int run_attest(const AttestOptions& options) {
  auto config = options.agent.resolve();
  if (!config) return report_error(config.error(), options.json);
  auto nonce = parse_nonce(options.nonce_hex);
  if (!nonce) return report_error(nonce.error(), options.json);
  agent::Attester attester(*config, stderr_events());
  auto token = attester.attest(*nonce);
  if (!token) return report_error(token.error(), options.json);
  if (options.json) {
    Json::Value out(Json::objectValue);
    out["token"] = token->jwt;
    out["issued_at"] = format_rfc3339(token->issued_at);
    out["expires_at"] = format_rfc3339(token->expires_at);
    out["claims"] = claims_of(token->jwt);
    print_json(out);
  } else if (options.claims) {
    // The attester verified the signature and times before returning the token.
    print_json(claims_of(token->jwt));
  } else {
    std::cout << token->jwt << "\n";
  }
  return kExitOk;
}

Result<client::HttpResponse> call_daemon(const DaemonOptions& options, const std::string& method,
                                         const std::string& path, const std::string& body) {
  client::HttpOptions http;
  http.unix_socket = options.socket;
  http.total_timeout = std::chrono::seconds(120);
  client::HttpRequest request{.method = method, .url = "http://localhost" + path, .body = body};
  if (!body.empty()) {
    request.headers = {{"Content-Type", "application/json"}};
  }
  auto response = client::perform(request, http);
  if (!response) {
    Error error = std::move(response).error();
    error.message = "cannot reach the agent at " + options.socket + ": " + error.message;
    error.hint = "is cvm-attestd running, and may this user open its socket? (--socket selects another)";
    return fail(std::move(error));
  }
  return response;
}

Error daemon_error(const client::HttpResponse& response) {
  auto body = parse_json_object(response.body, "the agent's error");
  Error error{.code = response.status == 403 ? Errc::permission_denied
                      : response.status == 400 ? Errc::invalid_argument
                      : response.status == 502 ? Errc::verification_failed
                                               : Errc::unavailable,
              .message = "the agent returned HTTP " + std::to_string(response.status)};
  if (body && (*body)["error"]["message"].isString()) {
    error.message += ": " + (*body)["error"]["message"].asString();
  }
  error.cause = Cause{.source = Cause::Source::http, .code = response.status, .text = {}};
  return error;
}

int run_token(const DaemonOptions& options) {
  auto nonce = parse_nonce(options.nonce_hex);
  if (!nonce) return report_error(nonce.error(), options.json);
  std::string body;
  if (*nonce) {
    Json::Value request(Json::objectValue);
    request["nonce"] = base64_encode(**nonce);
    body = request.toStyledString();
  }
  auto response = call_daemon(options, *nonce ? "POST" : "GET", "/v1/token", body);
  if (!response) return report_error(response.error(), options.json);
  if (response->status != 200) return report_error(daemon_error(*response), options.json);
  if (options.json) {
    Json::Value out(Json::objectValue);
    out["token"] = response->body;
    out["claims"] = claims_of(response->body);
    print_json(out);
  } else if (options.claims) {
    print_json(claims_of(response->body));
  } else {
    std::cout << response->body << "\n";
  }
  return kExitOk;
}

int run_status(const DaemonOptions& options) {
  auto response = call_daemon(options, "GET", "/v1/status", "");
  if (!response) return report_error(response.error(), options.json);
  if (response->status != 200) return report_error(daemon_error(*response), options.json);
  auto status = parse_json_object(response->body, "the agent's status");
  if (!status) return report_error(status.error(), options.json);
  if (options.json) {
    print_json(*status);
    return kExitOk;
  }
  Json::StreamWriterBuilder compact;
  compact["indentation"] = "";
  for (const auto& name : status->getMemberNames()) {
    const Json::Value& value = (*status)[name];
    std::cout << name << ": " << (value.isString() ? value.asString() : Json::writeString(compact, value)) << "\n";
  }
  return (*status)["state"].asString() == "ready" ? kExitOk : kExitEnvironment;
}

void add_daemon_options(CLI::App& command, DaemonOptions& options) {
  command.add_option("--socket", options.socket, "the agent's Unix socket")
      ->envname("CVM_ATTEST_SOCKET")
      ->capture_default_str();
  command.add_flag("--json", options.json, "Print JSON");
}

}  // namespace

void add_attest_commands(CLI::App& app, CommandContext& context) {
  auto evidence_options = std::make_shared<EvidenceOptions>();
  auto* evidence = app.add_subcommand("evidence", "Collect self-checked evidence from the TPM (no attestation service)");
  evidence_options->agent.add_to(*evidence);
  evidence->add_option("--format", evidence_options->format, "azure-guest or sevsnpvm")->capture_default_str();
  evidence->add_option("--nonce", evidence_options->nonce_hex, "nonce to bind, hex, 1 to 50 bytes");
  evidence->add_option("--out", evidence_options->out, "write the request body here instead of stdout");
  evidence->callback([evidence_options, &context] { context.exit_code = run_evidence(*evidence_options); });

  auto attest_options = std::make_shared<AttestOptions>();
  auto* attest = app.add_subcommand("attest", "Attest once without the daemon and print the verified token");
  attest_options->agent.add_to(*attest);
  attest->add_option("--nonce", attest_options->nonce_hex, "nonce to bind, hex, 1 to 50 bytes");
  attest->add_flag("--claims", attest_options->claims, "print the token's verified claims instead of the token");
  attest->add_flag("--json", attest_options->json, "print token, times and claims as JSON");
  attest->callback([attest_options, &context] { context.exit_code = run_attest(*attest_options); });

  auto token_options = std::make_shared<DaemonOptions>();
  auto* token = app.add_subcommand("token", "Get a token from the running agent");
  add_daemon_options(*token, *token_options);
  token->add_option("--nonce", token_options->nonce_hex, "request a fresh token bound to this nonce (hex)");
  token->add_flag("--claims", token_options->claims, "print the token's claims instead of the token");
  token->callback([token_options, &context] { context.exit_code = run_token(*token_options); });

  auto status_options = std::make_shared<DaemonOptions>();
  auto* status = app.add_subcommand("status", "Show the running agent's state");
  add_daemon_options(*status, *status_options);
  status->callback([status_options, &context] { context.exit_code = run_status(*status_options); });
}

}  // namespace cvm::cli
