// `POST /api/v1/events` (usage events in, per-line answers out) over any
// ingest, such as `agent::ledger`, `GET /api/v1/usage/<report>` over any
// report source, such as `agent::usage_reports`, and
// `GET /api/v1/usage/limits` over any agent::limit_store.
#pragma once

#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <optional>
#include <variant>

#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/http/concepts.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/http/report_params.hpp"
#include "vitals/http/router.hpp"
#include "vitals/runtime/targets.hpp"

namespace vitals::http {

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

/// `GET /api/v1/usage/spool`: {"pending", "dead", "recent_dead": [{"file",
/// "attempts", "last_error"}]} (the ten newest dead letters). Put it before
/// usage_route, which owns the rest of /api/v1/usage/.
template <spool_source Source>
class spool_route {
 public:
  explicit spool_route(const Source& s) : source_(s) {}
  bool matches(std::string_view p) const noexcept { return p == "/api/v1/usage/spool"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("usage_spool");
    auto p = checked_params(req, {});
    if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
    const auto st = source_.spool_status(10);
    boost::json::array recent;
    for (const auto& d : st.recent_dead)
      recent.push_back({{"file", d.file}, {"attempts", d.attempt}, {"last_error", d.last_error}});
    boost::json::object o{{"pending", st.pending}, {"dead", st.dead}, {"recent_dead", recent}};
    co_return json_answer(o, req.version());
  }

 private:
  const Source& source_;
};

/// A 400 naming the first of `names` whose value is not text of at most 512
/// bytes (NUL, invalid UTF-8): parameters compared with stored text.
inline std::optional<response> unclean_text(const params& ps,
                                            std::initializer_list<const char*> names,
                                            unsigned version) {
  for (const char* name : names)
    if (const auto given = ps.get(name).value_or(""); given.size() > 512 || !is_clean_text(given))
      return bad_parameter({name, std::string(name) + ": expected text of at most 512 bytes"},
                           version);
  return std::nullopt;
}

/// `GET /api/v1/usage/limits?account=&window=`: {"limits": [...]}, the
/// newest quota reading of each account and window (only of `account` and
/// `window` when given), ordered by account then window. Put it before
/// usage_route, which owns the rest of /api/v1/usage/.
template <agent::limit_store Store>
class limits_route {
 public:
  explicit limits_route(Store& s) : store_(s) {}
  bool matches(std::string_view p) const noexcept { return p == "/api/v1/usage/limits"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("usage_limits");
    co_return answer(req);
  }

 private:
  response answer(const request& req) {
    const unsigned v = req.version();
    auto p = checked_params(req, {"account", "window"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    const auto& ps = std::get<params>(p);
    if (auto bad = unclean_text(ps, {"account", "window"}, v)) return std::move(*bad);
    const std::string account(ps.get("account").value_or("")),
        window(ps.get("window").value_or(""));
    auto limits = store_.latest_limits(account, window);
    if (!limits) return json_error(bhttp::status::internal_server_error, limits.error().message, v);
    boost::json::array out;
    for (const auto& l : *limits) {
      boost::json::object o{{"account", l.account},   {"window", l.window},
                            {"at", to_rfc3339(l.at)}, {"provider", l.provider},
                            {"agent", l.agent},       {"source", l.source}};
      for (auto [name, value] : {std::pair{"used", &l.used}, std::pair{"limit", &l.limit},
                                 std::pair{"used_percent", &l.used_percent}})
        o[name] = *value ? boost::json::value(**value) : boost::json::value(nullptr);
      o["resets_at"] = l.resets_at ? boost::json::value(to_rfc3339(*l.resets_at)) : nullptr;
      out.push_back(std::move(o));
    }
    return json_answer(boost::json::object{{"limits", std::move(out)}}, v);
  }

  Store& store_;
};

/// The tracked targets that are agents, for the usage reports: those with an
/// `agent` label (its value is the agent's name), and every process and
/// cgroup target (named by its id). A process or cgroup that is gone is
/// "exited"; a target whose last tick failed otherwise is "failing". Its
/// host is its `host` label (empty: the monitor's own).
template <target_manager Targets>
std::vector<agent::agent_source> agent_sources(const Targets& targets) {
  std::vector<agent::agent_source> out;
  for (const auto& t : targets.list()) {
    const auto& s = t.spec;
    const auto name = s.labels.get("agent");
    if (name.empty() && s.kind != "process" && s.kind != "cgroup") continue;
    std::error_code ec;
    const bool gone =
        (s.kind == "process" && !std::filesystem::exists("/proc/" + std::to_string(s.pid), ec)) ||
        (s.kind == "cgroup" && !std::filesystem::exists(s.path, ec));
    out.push_back({.name = std::string(name.empty() ? std::string_view(s.id) : name),
                   .target = s.id,
                   .host = std::string(s.labels.get("host")),
                   .role = std::string(s.labels.get("role")),
                   .tool = std::string(s.labels.get("tool")),
                   .runtime = std::string(s.labels.get("runtime")),
                   .exited = gone,
                   .failing = !gone && t.failing});
  }
  return out;
}

/// `GET /api/v1/usage/{daily,series,summary,agents,blocks}`.
template <usage_reports Reports>
class usage_route {
 public:
  explicit usage_route(Reports& r) : reports_(r) {}
  bool matches(std::string_view p) const noexcept { return p.starts_with("/api/v1/usage/"); }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("usage");
    const unsigned v = req.version();
    const auto report = path_of(req.target()).substr(std::string_view("/api/v1/usage/").size());
    if (report == "summary") co_return summary(req);
    if (report == "daily") co_return daily(req);
    if (report == "blocks") co_return blocks(req);
    if (report == "series") co_return series(req);
    if (report == "agents") {
      auto p = report_params(req, {"host"});
      if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
      co_return answer(reports_.agents(vitals::now(), host_of(std::get<params>(p))), v);
    }
    co_return json_error(bhttp::status::not_found,
                         "unknown usage report; known: daily, series, summary, agents, blocks, "
                         "limits, channels, spool",
                         v);
  }

 private:
  using checked = std::variant<params, response>;

  // The parameters of a report; `agent` and `host` are compared with stored
  // text, so NUL or invalid UTF-8 in them is a 400 naming the parameter.
  static checked report_params(const request& req,
                               std::initializer_list<std::string_view> allowed) {
    auto p = checked_params(req, allowed);
    if (auto* ps = std::get_if<params>(&p))
      if (auto bad = unclean_text(*ps, {"agent", "host"}, req.version())) return std::move(*bad);
    return p;
  }

  // `host`: only that host's events and agents (a fleet's shared store).
  static std::string host_of(const params& ps) { return std::string(ps.get("host").value_or("")); }

  template <class T>
  static response answer(const result<T>& r, unsigned version) {
    if (!r) return json_error(bhttp::status::internal_server_error, r.error().message, version);
    return json_answer(*r, version);
  }

  response summary(const request& req) {
    auto p = report_params(req, {"agent", "from", "to", "host"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    const auto& ps = std::get<params>(p);
    auto w = report_window(req, ps, std::chrono::days(30));
    if (auto* r = std::get_if<response>(&w)) return std::move(*r);
    const auto [from, to] = std::get<0>(w);
    return answer(reports_.summary(ps.get("agent"), from, to, vitals::now(), host_of(ps)),
                  req.version());
  }

  response daily(const request& req) {
    auto p = report_params(req, {"from", "to", "by", "agent", "host"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    const auto& ps = std::get<params>(p);
    auto w = report_window(req, ps, std::chrono::days(30));
    if (auto* r = std::get_if<response>(&w)) return std::move(*r);
    const auto [from, to] = std::get<0>(w);
    auto by = agent::parse_daily_by(ps.get("by").value_or("model"));
    if (!by)
      return bad_parameter({"by", "by: expected model, agent, tool, provider or host"},
                           req.version());
    return answer(
        reports_.daily(from, to, *by, std::string(ps.get("agent").value_or("")), host_of(ps)),
        req.version());
  }

  response series(const request& req) {
    auto p = report_params(req, {"from", "to", "by", "step", "agent", "host"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    const auto& ps = std::get<params>(p);
    auto w = report_window(req, ps, std::chrono::days(1));
    if (auto* r = std::get_if<response>(&w)) return std::move(*r);
    const auto [from, to] = std::get<0>(w);
    auto by = agent::parse_daily_by(ps.get("by").value_or("model"));
    if (!by || (*by != agent::daily_by::model && *by != agent::daily_by::agent &&
                *by != agent::daily_by::host))
      return bad_parameter({"by", "by: expected model, agent or host"}, req.version());
    auto step = report_step(req, ps, from, to);
    if (auto* r = std::get_if<response>(&step)) return std::move(*r);
    return answer(reports_.series(from, to, *by, ps.get("step").value_or("1h"),
                                  std::string(ps.get("agent").value_or("")), host_of(ps)),
                  req.version());
  }

  response blocks(const request& req) {
    auto p = report_params(req, {"hours", "from", "host"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    const auto& ps = std::get<params>(p);
    auto w = report_window(req, ps, std::chrono::days(7));
    if (auto* r = std::get_if<response>(&w)) return std::move(*r);
    int hours = 5;
    if (auto text = ps.get("hours")) {
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), hours);
      if (ec != std::errc{} || end != text->data() + text->size() || hours < 1 || hours > 24)
        return bad_parameter({"hours", "hours: expected a whole number from 1 to 24"},
                             req.version());
    }
    return answer(reports_.blocks(std::chrono::hours(hours), std::get<0>(w).first, vitals::now(),
                                  {}, host_of(ps)),
                  req.version());
  }

  Reports& reports_;
};

}  // namespace vitals::http
