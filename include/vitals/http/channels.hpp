// Channel activity over HTTP (agent/channels.hpp):
//   POST /api/v1/channels          the 000 seed's RecordChannel: one
//                                  ChannelMetric object, an array or NDJSON;
//                                  good lines are kept, bad ones answered
//                                  with their line number
//   GET  /api/v1/usage/channels    its QueryChannel*: counts per channel and step
// The samples go where the monitor's other samples go (a push function:
// the pipeline, so sinks see them too), and are read back from its store.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "vitals/agent/channels.hpp"
#include "vitals/agent/json_items.hpp"
#include "vitals/agent/report_queries.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/http/report_params.hpp"
#include "vitals/http/router.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::http {

/// `POST /api/v1/channels`: {"accepted", "rejected": [{"line", "error"}]};
/// 400 when nothing was accepted, 503 when the store refuses the batch.
class channels_ingest_route {
 public:
  using push_fn = std::function<status(std::span<const sample>)>;

  channels_ingest_route(push_fn push, registry& reg)
      : push_(std::move(push)),
        accepted_(reg.counter("vitals_channel_reports_accepted",
                              "Channel reports taken by POST /api/v1/channels.")),
        rejected_(reg.counter("vitals_channel_reports_rejected",
                              "Channel reports refused (malformed, or the store refused them).")) {}

  bool matches(std::string_view p) const noexcept { return p == "/api/v1/channels"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::post; }
  std::string_view allow() const noexcept { return "POST"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("channels");
    co_return ingest(req);
  }

 private:
  response ingest(const request& req) {
    auto p = checked_params(req, {});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    if (req.body().find_first_not_of(" \t\r\n") == std::string::npos)
      return json_error(bhttp::status::bad_request,
                        "empty body: expected channel reports as JSON or NDJSON", req.version());
    std::vector<agent::rejected_line> rejected;
    const auto items = agent::split_json_items(req.body(), rejected);
    const timestamp received = vitals::now();
    std::vector<sample> batch;
    std::size_t accepted = 0;
    for (const auto& [line, v] : items) {
      auto m = agent::parse_channel_metric(v, received);
      if (!m) {
        rejected.push_back({line, m.error().message});
        continue;
      }
      agent::append_channel_samples(*m, batch);
      ++accepted;
    }
    std::sort(rejected.begin(), rejected.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    if (!batch.empty())
      if (auto st = push_(batch); !st) {
        rejected_.inc(accepted + rejected.size());  // nothing was kept
        return json_error(bhttp::status::service_unavailable,
                          "the sample store refused the reports: " + st.error().message,
                          req.version());
      }
    accepted_.inc(accepted);
    rejected_.inc(rejected.size());
    boost::json::object o;
    o["accepted"] = accepted;
    boost::json::array out;
    for (const auto& x : rejected) out.push_back({{"line", x.line}, {"error", x.error}});
    o["rejected"] = std::move(out);
    if (accepted == 0) o["error"] = "no channel report was accepted";
    return json_answer(o, req.version(), accepted ? bhttp::status::ok : bhttp::status::bad_request);
  }

  push_fn push_;
  vitals::counter& accepted_;
  vitals::counter& rejected_;
};

/// `GET /api/v1/usage/channels?from=&to=&step=&channel=` (agent::channels_json).
/// Put it before usage_route, which owns the rest of /api/v1/usage/.
template <store Store>
class channels_report_route {
 public:
  explicit channels_report_route(Store& s) : store_(s) {}
  bool matches(std::string_view p) const noexcept { return p == "/api/v1/usage/channels"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("usage");
    co_return report(req);
  }

 private:
  response report(const request& req) {
    auto p = checked_params(req, {"from", "to", "step", "channel"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    const auto& ps = std::get<params>(p);
    auto w = report_window(req, ps, std::chrono::days(1));
    if (auto* r = std::get_if<response>(&w)) return std::move(*r);
    const auto [from, to] = std::get<0>(w);
    auto step = report_step(req, ps, from, to);
    if (auto* r = std::get_if<response>(&step)) return std::move(*r);
    const auto channel = ps.get("channel").value_or("");
    if (channel.size() > agent::max_channel_name)
      return bad_parameter({"channel", "channel: longer than 256 bytes"}, req.version());
    return json_answer(agent::channels_json(store_, from, to, std::get<0>(step), channel),
                       req.version());
  }

  Store& store_;
};

}  // namespace vitals::http
