#include "service/api.hpp"

#include <json/writer.h>
#include <microhttpd.h>

#include <cstring>

#include "common/json.hpp"

namespace cvm::service {
namespace {

// The TPM quote's qualifying data carries at most 50 bytes here, so longer
// nonces are rejected rather than truncated or hashed.
constexpr std::size_t kMaxNonceSize = 50;

std::string json_text(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

std::string error_code_name(int status, const Error& error) {
  if (status == 429) return "too_many_requests";
  if (status == 403) return "forbidden";
  if (status == 404) return "not_found";
  if (status == 405) return "method_not_allowed";
  if (status == 413) return "payload_too_large";
  return std::string(errc_name(error.code));
}

int status_for(const Error& error) {
  switch (error.code) {
    case Errc::invalid_argument:
    case Errc::invalid_data: return 400;
    case Errc::permission_denied: return 403;
    case Errc::not_found: return 404;
    case Errc::verification_failed: return 502;
    case Errc::unavailable:
    case Errc::not_ready:
    case Errc::timed_out: return 503;
    default: return 500;
  }
}

// Endpoint names used by the access rules.
std::string endpoint_for(const std::string& method, const std::string& path) {
  if (path == "/v1/token") return method == "POST" ? "token_nonce" : "token";
  if (path == "/v1/evidence") return "evidence";
  if (path == "/v1/keys/release") return "keys";
  if (path == "/v1/status") return "status";
  if (path == "/metrics") return "metrics";
  return {};
}

}  // namespace

Result<Bytes> parse_nonce_request(std::string_view body) {
  auto parsed = cvm::parse_json(body, "the request body");
  if (!parsed) {
    Error error = std::move(parsed).error();
    error.code = Errc::invalid_argument;
    return fail(std::move(error));
  }
  if (!parsed->isObject()) {
    return fail(Errc::invalid_argument, "the request body must be a JSON object");
  }
  for (const auto& name : parsed->getMemberNames()) {
    if (name != "nonce") {
      return fail(Error{.code = Errc::invalid_argument, .message = "unknown field '" + name + "' in the request",
                        .field = name});
    }
  }
  const Json::Value& nonce = (*parsed)["nonce"];
  if (!nonce.isString()) {
    return fail(Error{.code = Errc::invalid_argument, .message = "\"nonce\" must be a base64 string", .field = "nonce"});
  }
  auto bytes = base64_decode(nonce.asString());
  if (!bytes) {
    return fail(Error{.code = Errc::invalid_argument, .message = "\"nonce\" is not valid base64", .field = "nonce"});
  }
  if (bytes->empty() || bytes->size() > kMaxNonceSize) {
    return fail(Error{.code = Errc::invalid_argument,
                      .message = "nonce is " + std::to_string(bytes->size()) + " bytes; it must be 1 to " +
                                 std::to_string(kMaxNonceSize),
                      .field = "nonce"});
  }
  return bytes;
}

struct ApiServer::Daemon {
  ApiServer* server = nullptr;
  MHD_Daemon* daemon = nullptr;
};

namespace {

struct PendingRequest {
  std::string body;
  bool too_large = false;
};

struct ConnectionContext {
  std::optional<Caller> caller;
  std::optional<Error> identify_error;
};

void on_connection(void*, MHD_Connection* connection, void** socket_context, MHD_ConnectionNotificationCode code) {
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    auto* context = new ConnectionContext();
    const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    auto caller = info != nullptr ? identify_caller(info->connect_fd)
                                  : Result<Caller>(fail(Errc::internal, "no connection fd"));
    if (caller) {
      context->caller = std::move(*caller);
    } else {
      context->identify_error = caller.error();
    }
    *socket_context = context;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    delete static_cast<ConnectionContext*>(*socket_context);
    *socket_context = nullptr;
  }
}

void on_completed(void*, MHD_Connection*, void** request_context, MHD_RequestTerminationCode) {
  delete static_cast<PendingRequest*>(*request_context);
  *request_context = nullptr;
}

MHD_Result send_reply(MHD_Connection* connection, const ApiServer::Reply& reply) {
  MHD_Response* response =
      MHD_create_response_from_buffer(reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(response, "Content-Type", reply.content_type.c_str());
  MHD_add_response_header(response, "Cache-Control", "no-store");
  for (const auto& [name, value] : reply.headers) {
    MHD_add_response_header(response, name.c_str(), value.c_str());
  }
  MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(reply.status), response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

ApiServer::ApiServer(TokenCache& cache, Metrics& metrics, ApiOptions options, ApiCallbacks callbacks,
                     AccessPolicy policy)
    : cache_(cache),
      metrics_(metrics),
      options_(options),
      callbacks_(std::move(callbacks)),
      policy_(std::make_shared<const AccessPolicy>(std::move(policy))) {}

ApiServer::~ApiServer() { stop(); }

void ApiServer::set_policy(AccessPolicy policy) {
  std::lock_guard lock(policy_mutex_);
  policy_ = std::make_shared<const AccessPolicy>(std::move(policy));
}

ApiServer::Reply ApiServer::error_reply(const std::string& path, int status, const Error& error) {
  Json::Value body(Json::objectValue);
  body["error"]["code"] = error_code_name(status, error);
  body["error"]["message"] = error.to_string();
  Reply reply{.status = status, .body = json_text(body)};
  if (callbacks_.on_error) {
    callbacks_.on_error(path, status, error);
  }
  return reply;
}

ApiServer::Reply ApiServer::token(const Caller&) {
  auto token = cache_.current();
  if (!token) {
    Reply reply = error_reply("/v1/token", 503, token.error());
    auto next = cache_.status().next_attempt;
    long long seconds = 5;
    if (next) {
      seconds = std::max<long long>(1, std::chrono::duration_cast<std::chrono::seconds>(*next - Clock::now()).count());
    }
    reply.headers.emplace_back("Retry-After", std::to_string(seconds));
    return reply;
  }
  return Reply{.body = token->jwt, .content_type = "application/jwt"};
}

ApiServer::Reply ApiServer::token_with_nonce(const std::string& body) {
  auto nonce = parse_nonce_request(body);
  if (!nonce) {
    return error_reply("/v1/token", 400, nonce.error());
  }
  auto token = cache_.fresh(*nonce);
  if (!token) {
    if (token.error().field == "too_many_requests") {
      Reply reply = error_reply("/v1/token", 429, token.error());
      reply.headers.emplace_back("Retry-After", "2");
      return reply;
    }
    return error_reply("/v1/token", status_for(token.error()), token.error());
  }
  return Reply{.body = token->jwt, .content_type = "application/jwt"};
}

ApiServer::Reply ApiServer::evidence(const std::string& body) {
  if (!callbacks_.evidence) {
    return error_reply("/v1/evidence", 404, Error{.code = Errc::not_found, .message = "evidence is not available"});
  }
  auto nonce = parse_nonce_request(body);
  if (!nonce) {
    return error_reply("/v1/evidence", 400, nonce.error());
  }
  auto evidence = callbacks_.evidence(*nonce);
  if (!evidence) {
    return error_reply("/v1/evidence", status_for(evidence.error()), evidence.error());
  }
  return Reply{.body = std::move(*evidence)};
}

ApiServer::Reply ApiServer::release_key(const std::string& body) {
  if (!callbacks_.release_key) {
    return error_reply("/v1/keys/release", 404,
                       Error{.code = Errc::not_found, .message = "no keys are configured for release"});
  }
  auto parsed = cvm::parse_json(body, "the request body");
  if (!parsed || !parsed->isObject() || !(*parsed)["name"].isString() || parsed->size() != 1) {
    return error_reply("/v1/keys/release", 400,
                       Error{.code = Errc::invalid_argument, .message = "the body must be {\"name\": \"<key name>\"}"});
  }
  auto released = callbacks_.release_key((*parsed)["name"].asString());
  if (!released) {
    return error_reply("/v1/keys/release", status_for(released.error()), released.error());
  }
  return Reply{.body = std::move(*released)};
}

ApiServer::Reply ApiServer::status() {
  CacheStatus state = cache_.status();
  Json::Value body = callbacks_.status ? callbacks_.status() : Json::Value(Json::objectValue);
  Clock::time_point now = Clock::now();
  bool valid = state.token && now < state.token->expires_at;
  body["state"] = valid ? "ready" : (state.token ? "expired" : "starting");
  if (state.token) {
    body["token"]["issued_at"] = format_rfc3339(state.token->issued_at);
    body["token"]["expires_at"] = format_rfc3339(state.token->expires_at);
  } else {
    body["token"] = Json::Value(Json::nullValue);
  }
  body["last_attempt"] = state.last_attempt ? Json::Value(format_rfc3339(*state.last_attempt)) : Json::Value();
  body["last_success"] = state.last_success ? Json::Value(format_rfc3339(*state.last_success)) : Json::Value();
  body["next_attempt"] = state.next_attempt ? Json::Value(format_rfc3339(*state.next_attempt)) : Json::Value();
  body["last_error"] = state.last_error ? Json::Value(state.last_error->to_string()) : Json::Value();
  body["attestations"] = static_cast<Json::UInt64>(state.attestations);
  body["failures"] = static_cast<Json::UInt64>(state.failures);
  return Reply{.body = json_text(body)};
}

ApiServer::Reply ApiServer::metrics_text() {
  CacheStatus state = cache_.status();
  metrics_.set_token_expiry(state.token ? std::optional(state.token->expires_at) : std::nullopt);
  return Reply{.body = metrics_.render(state.cache_hits, state.cache_misses, state.refresh_failures),
               .content_type = "text/plain; version=0.0.4"};
}

ApiServer::Reply ApiServer::handle(const std::string& method, const std::string& path, const std::string& body,
                                   const Caller& caller) {
  std::string endpoint = endpoint_for(method, path);
  Reply reply;
  if (endpoint.empty()) {
    reply = error_reply(path, 404, Error{.code = Errc::not_found, .message = "no endpoint " + path});
  } else {
    bool method_ok = (endpoint == "token" && method == "GET") || (endpoint == "token_nonce" && method == "POST") ||
                     ((endpoint == "evidence" || endpoint == "keys") && method == "POST") ||
                     ((endpoint == "status" || endpoint == "metrics") && method == "GET");
    std::shared_ptr<const AccessPolicy> policy;
    {
      std::lock_guard lock(policy_mutex_);
      policy = policy_;
    }
    if (!method_ok) {
      reply = error_reply(path, 405, Error{.code = Errc::invalid_argument, .message = method + " is not allowed on " + path});
    } else if (!policy->allows(endpoint, caller)) {
      metrics_.record_refused_caller();
      if (callbacks_.on_refused) {
        callbacks_.on_refused(caller, path);
      }
      reply = Reply{.status = 403,
                    .body = json_text([&] {
                      Json::Value error(Json::objectValue);
                      error["error"]["code"] = "forbidden";
                      error["error"]["message"] = "uid " + std::to_string(caller.uid) + " may not use " + path;
                      return error;
                    }())};
    } else if (endpoint == "token") {
      reply = token(caller);
    } else if (endpoint == "token_nonce") {
      reply = token_with_nonce(body);
    } else if (endpoint == "evidence") {
      reply = evidence(body);
    } else if (endpoint == "keys") {
      reply = release_key(body);
    } else if (endpoint == "status") {
      reply = status();
    } else {
      reply = metrics_text();
    }
  }
  metrics_.record_http(endpoint.empty() ? "other" : path, reply.status);
  return reply;
}

namespace {

MHD_Result dispatch(void* user, MHD_Connection* connection, const char* url, const char* method, const char*,
                    const char* upload_data, std::size_t* upload_size, void** request_context) {
  auto* server = static_cast<ApiServer*>(user);
  auto* pending = static_cast<PendingRequest*>(*request_context);
  if (pending == nullptr) {
    *request_context = new PendingRequest();
    return MHD_YES;
  }
  const std::size_t limit = server->max_body();
  if (*upload_size != 0) {
    if (pending->body.size() + *upload_size > limit) {
      pending->too_large = true;
    } else {
      pending->body.append(upload_data, *upload_size);
    }
    *upload_size = 0;
    return MHD_YES;
  }
  const MHD_ConnectionInfo* info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  auto* context = info != nullptr ? static_cast<ConnectionContext*>(info->socket_context) : nullptr;
  ApiServer::Reply reply;
  if (pending->too_large) {
    reply = ApiServer::Reply{.status = 413,
                             .body = R"json({"error":{"code":"payload_too_large","message":"the request body exceeds the agent's limit (64 KiB by default)"}})json"};
  } else if (context == nullptr || !context->caller) {
    reply = ApiServer::Reply{.status = 403,
                             .body = R"({"error":{"code":"forbidden","message":"cannot identify the caller"}})"};
  } else {
    reply = server->handle(method, url, pending->body, *context->caller);
  }
  return send_reply(connection, reply);
}

}  // namespace

Result<void> ApiServer::start(int listen_fd) {
  if (daemon_) {
    return fail(Errc::internal, "the API server is already running");
  }
  daemon_ = std::make_unique<Daemon>();
  daemon_->server = this;
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC;
  daemon_->daemon = MHD_start_daemon(
      flags, 0, nullptr, nullptr, &dispatch, this, MHD_OPTION_LISTEN_SOCKET, listen_fd,
      MHD_OPTION_NOTIFY_CONNECTION, &on_connection, nullptr, MHD_OPTION_NOTIFY_COMPLETED, &on_completed, nullptr,
      MHD_OPTION_CONNECTION_TIMEOUT, options_.connection_timeout_seconds, MHD_OPTION_CONNECTION_LIMIT,
      options_.connection_limit, MHD_OPTION_THREAD_STACK_SIZE, options_.thread_stack_size,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, options_.connection_memory_limit, MHD_OPTION_END);
  if (daemon_->daemon == nullptr) {
    daemon_.reset();
    return fail(Errc::internal, "cannot start the HTTP server on the agent socket");
  }
  return {};
}

void ApiServer::stop() {
  if (daemon_ && daemon_->daemon != nullptr) {
    MHD_stop_daemon(daemon_->daemon);
    daemon_->daemon = nullptr;
  }
  daemon_.reset();
}

}  // namespace cvm::service
