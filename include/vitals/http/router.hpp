// Routes composed at compile time: a router over a fixed list of route types
// answers 404 when no route owns the path and 405 (with `Allow`) when one
// does but not for the method. HEAD reaches the routes as GET (the server
// turns it back into a bodiless answer). Dispatch is a fold over the tuple:
// one coroutine frame per request, no virtual call. Nothing here needs
// Boost.JSON: the JSON answers of the API routes are in http/json_answer.hpp.
#pragma once

#include <concepts>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>

#include "vitals/http/concepts.hpp"
#include "vitals/http/params.hpp"
#include "vitals/http/server.hpp"

namespace vitals::http {

template <route... Routes>
class router {
 public:
  explicit router(Routes... r) : routes_(std::move(r)...) {}

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    const std::string_view path = path_of(req.target());
    std::optional<asio::awaitable<std::optional<response>>> chosen;
    std::string_view allow;
    std::apply(
        [&](auto&... r) {
          (void)((r.matches(path) &&
                  (r.allows(req.method()) ? (chosen.emplace(r.handle(req, ex)), true)
                                          : (allow = r.allow(), true))) ||
                 ...);
        },
        routes_);
    if (chosen) co_return co_await std::move(*chosen);
    if (!allow.empty()) {
      ex.route("method_not_allowed");
      auto res = json_error(bhttp::status::method_not_allowed,
                            std::string(ex.head() ? "HEAD" : req.method_string()) +
                                " is not allowed here; allowed: " + std::string(allow),
                            req.version());
      res.set(bhttp::field::allow, allow.find("GET") == std::string_view::npos
                                       ? std::string(allow)
                                       : std::string(allow) + ", HEAD");
      co_return res;
    }
    ex.route("not_found");
    co_return json_error(bhttp::status::not_found, "no route for " + std::string(path),
                         req.version());
  }

  template <std::size_t I>
  auto& get() noexcept {
    return std::get<I>(routes_);
  }

 private:
  std::tuple<Routes...> routes_;
};

template <route... Routes>
router(Routes...) -> router<Routes...>;

// Answers shared by the routes.

inline response bad_parameter(const param_error& e, unsigned version) {
  return json_error(bhttp::status::bad_request, e.message, version, e.name);
}

/// Parses the target's parameters and checks them against `allowed`.
inline std::variant<params, response> checked_params(
    const request& req, std::initializer_list<std::string_view> allowed) {
  auto p = params::parse(req.target());
  if (auto* e = std::get_if<param_error>(&p)) return bad_parameter(*e, req.version());
  auto& ok = std::get<params>(p);
  if (auto e = ok.check(allowed)) return bad_parameter(*e, req.version());
  return std::move(ok);
}

/// A route answering one exact path for GET, from a callable; for small
/// routes such as /healthz.
template <class F>
class get_route {
 public:
  get_route(std::string path, std::string name, F f)
      : path_(std::move(path)), name_(std::move(name)), f_(std::move(f)) {}
  bool matches(std::string_view p) const noexcept { return p == path_; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }
  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route(name_);
    co_return f_(req);
  }

 private:
  std::string path_, name_;
  F f_;
};

/// `GET /healthz`.
inline auto health_route() {
  return get_route("/healthz", "healthz", [](const request& req) {
    response res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, "application/json");
    res.body() = R"({"status":"ok"})";
    return res;
  });
}

}  // namespace vitals::http
