// `POST /api/v1/hooks/claude`: a Claude Code hook's JSON, posted as the hook
// got it (agent/claude_hooks.hpp), into any ingest of usage events such as
// `agent::ledger`. The agent and account are the caller's: `?agent=` and
// `?account=`, else the `X-Vitals-Agent` and `X-Vitals-Account` headers.
// Every known hook is counted in `vitals_agent_hooks_total{hook}`, whether
// it gives an event or not.
#pragma once

#include <boost/json.hpp>

#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "vitals/agent/claude_hooks.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/http/router.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::http {

/// What the hook route hands its event to: `ingest_events` as agent::ledger
/// has it (accepted, duplicates, rejected lines).
template <class I>
concept usage_event_ingest = requires(I& i, std::vector<agent::usage_event> v) {
  { i.ingest_events(std::move(v)).accepted } -> std::convertible_to<std::size_t>;
  { i.ingest_events(std::move(v)).duplicates } -> std::convertible_to<std::size_t>;
  {
    i.ingest_events(std::move(v)).rejected.begin()->error
    } -> std::convertible_to<std::string_view>;
};

template <usage_event_ingest Ingest>
class claude_hooks_route {
 public:
  claude_hooks_route(Ingest& i, registry& reg)
      : ingest_(i),
        hooks_(reg.counter_family("vitals_agent_hooks",
                                  "Agent hooks received (POST /api/v1/hooks/claude), by hook.",
                                  {"hook"})) {}
  bool matches(std::string_view p) const noexcept { return p == "/api/v1/hooks/claude"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::post; }
  std::string_view allow() const noexcept { return "POST"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("hooks");
    co_return answer(req);
  }

 private:
  response answer(const request& req) {
    const unsigned v = req.version();
    auto p = checked_params(req, {"agent", "account"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    const auto& ps = std::get<params>(p);
    agent::claude_hook_options o;
    for (auto [name, header, field] : {std::tuple{"agent", "X-Vitals-Agent", &o.agent},
                                       std::tuple{"account", "X-Vitals-Account", &o.account}}) {
      std::string_view given;
      std::string_view named = name;
      if (auto q = ps.get(name)) {
        given = *q;
      } else if (auto h = req.find(header); h != req.end()) {
        given = h->value();
        named = header;
      } else {
        continue;
      }
      if (given.size() > 512 || !is_clean_text(given))
        return bad_parameter(
            {std::string(named), std::string(named) + ": expected text of at most 512 bytes"}, v);
      if (!given.empty()) *field = std::string(given);
    }
    boost::system::error_code ec;
    const auto body = boost::json::parse(req.body(), ec);
    if (ec)
      return json_error(bhttp::status::bad_request,
                        "invalid JSON: " + ec.message() + " (expected a Claude Code hook's JSON)",
                        v);
    auto hook = agent::parse_claude_hook(body, o, vitals::now());
    if (!hook) return field_error(hook.error().message, v);
    hooks_.with(hook->name).inc();
    boost::json::object out{{"hook_event_name", hook->name}, {"accepted", 0}, {"duplicates", 0}};
    if (!hook->event) {
      out["ignored"] = true;
      return json_answer(out, v);
    }
    std::vector<agent::usage_event> one;
    one.push_back(std::move(*hook->event));
    const auto r = ingest_.ingest_events(std::move(one));
    for (const auto& x : r.rejected) {
      const std::string_view why = x.error;
      if (why.starts_with("not stored"))
        return json_error(bhttp::status::service_unavailable, why, v);
      return field_error(why, v);
    }
    out["accepted"] = r.accepted;
    out["duplicates"] = r.duplicates;
    return json_answer(out, v);
  }

  // A 400 naming the hook's field, as the message does ("field: why").
  static response field_error(std::string_view message, unsigned v) {
    boost::json::object o{{"error", message}};
    if (const auto colon = message.find(':'); colon != std::string_view::npos)
      o["field"] = message.substr(0, colon);
    return json_answer(o, v, bhttp::status::bad_request);
  }

  Ingest& ingest_;
  family<counter>& hooks_;
};

}  // namespace vitals::http
