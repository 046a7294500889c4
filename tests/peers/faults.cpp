#include "tests/peers/faults.hpp"

#include <json/reader.h>

#include <memory>
#include <thread>

namespace cvm::peers {

void FaultInjector::add(Fault fault) {
  std::lock_guard lock(mutex_);
  faults_.push_back(std::move(fault));
}

void FaultInjector::clear() {
  std::lock_guard lock(mutex_);
  faults_.clear();
}

std::optional<Fault> FaultInjector::take(const std::string& path) {
  std::lock_guard lock(mutex_);
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (!path.starts_with(it->path_prefix)) {
      continue;
    }
    Fault fault = *it;
    if (it->remaining > 0 && --it->remaining == 0) {
      faults_.erase(it);
    }
    return fault;
  }
  return std::nullopt;
}

Handler FaultInjector::wrap(Handler inner) {
  return [this, inner = std::move(inner)](const Request& request) {
    if (auto controlled = control(request)) {
      return *controlled;
    }
    std::optional<Fault> fault = take(request.path);
    if (!fault) {
      return inner(request);
    }
    if (fault->delay.count() > 0) {
      std::this_thread::sleep_for(fault->delay);
    }
    Response response = fault->status >= 400 ? Response{.status = fault->status,
                                                         .body = R"({"error":{"code":"InjectedFault","message":"fault injected by the test peer"}})"}
                                             : inner(request);
    if (fault->status > 0 && fault->status < 400) {
      response.status = fault->status;
    }
    if (fault->retry_after) {
      response.headers.emplace_back("Retry-After", std::to_string(*fault->retry_after));
    }
    switch (fault->body) {
      case BodyFault::truncated: response.body = response.body.substr(0, response.body.size() / 2); break;
      case BodyFault::malformed: response.body = "{\"token\": [unterminated"; break;
      case BodyFault::oversized: response.body.assign(3 << 20, 'x'); break;
      case BodyFault::none: break;
    }
    return response;
  };
}

std::optional<Response> FaultInjector::control(const Request& request) {
  if (request.path != "/control/faults") {
    return std::nullopt;
  }
  if (request.method != "POST") {
    return Response{.status = 405};
  }
  Json::CharReaderBuilder builder;
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  Json::Value body;
  std::string errors;
  if (!reader->parse(request.body.data(), request.body.data() + request.body.size(), &body, &errors) ||
      !body.isObject()) {
    return Response{.status = 400, .body = R"({"error":{"code":"BadFault","message":"body is not a JSON object"}})"};
  }
  if (body["clear"].asBool()) {
    clear();
    return Response{.status = 204};
  }
  Fault fault;
  fault.path_prefix = body.get("path", "/").asString();
  fault.status = body.get("status", 0).asInt();
  if (body.isMember("retry_after")) {
    fault.retry_after = body["retry_after"].asInt();
  }
  fault.delay = std::chrono::milliseconds(body.get("delay_ms", 0).asInt());
  std::string kind = body.get("body", "none").asString();
  fault.body = kind == "truncated"   ? BodyFault::truncated
               : kind == "malformed" ? BodyFault::malformed
               : kind == "oversized" ? BodyFault::oversized
                                     : BodyFault::none;
  fault.remaining = body.get("count", 1).asInt();
  add(std::move(fault));
  return Response{.status = 204};
}

}  // namespace cvm::peers
