#include "tests/peers/http_server.hpp"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

namespace cvm::peers {
namespace {

struct Connection {
  std::string body;
  bool too_large = false;
};

MHD_Result collect_header(void* user, MHD_ValueKind, const char* key, const char* value) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(user);
  std::string name(key);
  for (char& c : name) {
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  (*headers)[name] = value != nullptr ? value : "";
  return MHD_YES;
}

MHD_Result collect_argument(void* user, MHD_ValueKind, const char* key, const char* value) {
  auto* query = static_cast<std::string*>(user);
  if (!query->empty()) {
    query->push_back('&');
  }
  *query += key;
  if (value != nullptr) {
    *query += "=";
    *query += value;
  }
  return MHD_YES;
}

}  // namespace

struct HttpServer::State {
  Handler handler;
  std::size_t max_body = 0;
  MHD_Daemon* daemon = nullptr;
  std::string certificate;
  std::string key;
};

std::string Request::header(const std::string& lower_case_name) const {
  auto found = headers.find(lower_case_name);
  return found == headers.end() ? std::string() : found->second;
}

std::string Request::query_value(const std::string& name) const {
  std::size_t position = 0;
  while (position <= query.size()) {
    std::size_t end = query.find('&', position);
    std::string_view pair = std::string_view(query).substr(position, end == std::string::npos ? std::string::npos : end - position);
    if (pair.starts_with(name + "=")) {
      return std::string(pair.substr(name.size() + 1));
    }
    if (end == std::string::npos) {
      break;
    }
    position = end + 1;
  }
  return {};
}

namespace {

MHD_Result handle(void* user, MHD_Connection* connection, const char* url, const char* method, const char*,
                  const char* upload_data, std::size_t* upload_size, void** connection_state) {
  auto* state = static_cast<HttpServer::State*>(user);
  auto* pending = static_cast<Connection*>(*connection_state);
  if (pending == nullptr) {
    *connection_state = new Connection();
    return MHD_YES;
  }
  if (*upload_size != 0) {
    if (pending->body.size() + *upload_size > state->max_body) {
      pending->too_large = true;
    } else {
      pending->body.append(upload_data, *upload_size);
    }
    *upload_size = 0;
    return MHD_YES;
  }

  Response response;
  if (pending->too_large) {
    response = Response{.status = 413, .body = R"({"error":{"code":"TooLarge","message":"request body too large"}})"};
  } else {
    Request request;
    request.method = method;
    request.path = url;
    request.body = std::move(pending->body);
    MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, &request.headers);
    MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, collect_argument, &request.query);
    response = state->handler(request);
  }
  MHD_Response* reply = MHD_create_response_from_buffer(response.body.size(), response.body.data(),
                                                        MHD_RESPMEM_MUST_COPY);
  MHD_add_response_header(reply, "Content-Type", response.content_type.c_str());
  for (const auto& [name, value] : response.headers) {
    MHD_add_response_header(reply, name.c_str(), value.c_str());
  }
  MHD_Result queued = MHD_queue_response(connection, static_cast<unsigned>(response.status), reply);
  MHD_destroy_response(reply);
  return queued;
}

void completed(void*, MHD_Connection*, void** connection_state, MHD_RequestTerminationCode) {
  delete static_cast<Connection*>(*connection_state);
  *connection_state = nullptr;
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::start(const ServerOptions& options, Handler handler) {
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->state_ = std::make_unique<State>();
  State& state = *server->state_;
  state.handler = std::move(handler);
  state.max_body = options.max_body;
  state.certificate = options.certificate_pem;
  state.key = options.key_pem;
  server->tls_ = !options.certificate_pem.empty();

  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(options.port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
  if (server->tls_) {
    flags |= MHD_USE_TLS;
    state.daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &handle, &state,
                                    MHD_OPTION_SOCK_ADDR, &address,
                                    MHD_OPTION_NOTIFY_COMPLETED, &completed, nullptr,
                                    MHD_OPTION_HTTPS_MEM_CERT, state.certificate.c_str(),
                                    MHD_OPTION_HTTPS_MEM_KEY, state.key.c_str(),
                                    MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
  } else {
    state.daemon = MHD_start_daemon(flags, 0, nullptr, nullptr, &handle, &state,
                                    MHD_OPTION_SOCK_ADDR, &address,
                                    MHD_OPTION_NOTIFY_COMPLETED, &completed, nullptr,
                                    MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
  }
  if (state.daemon == nullptr) {
    return fail(Errc::unavailable, "cannot start the test HTTP server on 127.0.0.1:" + std::to_string(options.port));
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(state.daemon, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info != nullptr ? info->port : options.port;
  return server;
}

HttpServer::~HttpServer() {
  if (state_ && state_->daemon != nullptr) {
    MHD_stop_daemon(state_->daemon);
  }
}

std::string HttpServer::base_url() const {
  return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

}  // namespace cvm::peers
