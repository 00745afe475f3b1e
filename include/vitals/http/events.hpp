// `POST /api/v1/events` (usage events in, per-line answers out) and
// `GET /api/v1/usage/<report>` over any ingest and report source, such as
// `agent::ledger`.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <optional>

#include "vitals/agent/ledger.hpp"
#include "vitals/http/router.hpp"

namespace vitals::http {

/// 1. `ingest(body)` takes one JSON object, an array or NDJSON and answers
///    per line; good lines are kept when others are rejected.
template <class L>
concept event_ingest = requires(L& l, std::string_view body) {
  { l.ingest(body) } -> std::same_as<agent::ingest_result>;
};

/// 1. `summary(agent, from, to)`: totals per agent (the /usage/summary shape).
template <class U>
concept usage_reports = requires(const U& u, std::optional<std::string_view> agent, timestamp t) {
  { u.summary(agent, t, t) } -> std::same_as<boost::json::array>;
};

template <event_ingest Ingest>
class events_route {
 public:
  explicit events_route(Ingest& i) : ingest_(i) {}
  bool matches(std::string_view p) const noexcept { return p == "/api/v1/events"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::post; }
  std::string_view allow() const noexcept { return "POST"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("events");
    auto p = checked_params(req, {});
    if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
    if (req.body().find_first_not_of(" \t\r\n") == std::string::npos)
      co_return json_error(bhttp::status::bad_request,
                           "empty body: expected usage events as JSON or NDJSON", req.version());
    const auto r = ingest_.ingest(req.body());
    boost::json::object o;
    o["accepted"] = r.accepted;
    o["duplicates"] = r.duplicates;
    boost::json::array rejected;
    for (const auto& x : r.rejected) rejected.push_back({{"line", x.line}, {"error", x.error}});
    o["rejected"] = std::move(rejected);
    const bool nothing_taken = r.accepted == 0 && r.duplicates == 0;
    if (nothing_taken) o["error"] = "no event was accepted";
    co_return json_answer(o, req.version(),
                          nothing_taken ? bhttp::status::bad_request : bhttp::status::ok);
  }

 private:
  Ingest& ingest_;
};

template <usage_reports Reports>
class usage_route {
 public:
  explicit usage_route(const Reports& r) : reports_(r) {}
  bool matches(std::string_view p) const noexcept { return p.starts_with("/api/v1/usage/"); }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("usage");
    const unsigned v = req.version();
    if (path_of(req.target()) != "/api/v1/usage/summary")
      co_return json_error(bhttp::status::not_found, "unknown usage report; known: summary", v);
    auto p = checked_params(req, {"agent", "from", "to"});
    if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
    const auto& ps = std::get<params>(p);
    const timestamp t_now = vitals::now();
    timestamp from = t_now - std::chrono::days(30), to = t_now;
    for (auto [name, field] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
      if (auto text = ps.get(name)) {
        auto t = parse_time(*text, t_now);
        if (!t) co_return bad_parameter({name, std::string(name) + ": " + t.error().message}, v);
        *field = *t;
      }
    }
    co_return json_answer(reports_.summary(ps.get("agent"), from, to), v);
  }

 private:
  const Reports& reports_;
};

}  // namespace vitals::http
