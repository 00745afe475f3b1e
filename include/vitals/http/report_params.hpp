// Query parameters the report routes share (usage reports, channels): a time
// window and a step, each refused with a 400 that names the parameter.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <variant>

#include "vitals/agent/report_queries.hpp"
#include "vitals/core/time.hpp"
#include "vitals/http/exchange.hpp"
#include "vitals/http/params.hpp"

namespace vitals::http {

/// `from` and `to` (default: the last `span` up to now).
inline std::variant<std::pair<timestamp, timestamp>, response> report_window(
    const request& req, const params& ps, std::chrono::milliseconds span) {
  const timestamp t_now = vitals::now();
  timestamp from = t_now - span, to = t_now;
  for (auto [name, field] : {std::pair{"from", &from}, std::pair{"to", &to}}) {
    if (auto text = ps.get(name)) {
      auto t = parse_time(*text, t_now);
      if (!t)
        return json_error(bhttp::status::bad_request, std::string(name) + ": " + t.error().message,
                          req.version(), name);
      *field = *t;
    }
  }
  if (to < from)
    return json_error(bhttp::status::bad_request, "to: before from", req.version(), "to");
  return std::pair{from, to};
}

/// `step`, one of agent::series_steps (default 1h), with at most
/// agent::max_report_buckets buckets between `from` and `to`.
inline std::variant<std::chrono::seconds, response> report_step(const request& req,
                                                                const params& ps, timestamp from,
                                                                timestamp to) {
  const auto width = agent::parse_series_step(ps.get("step").value_or("1h"));
  if (!width)
    return json_error(bhttp::status::bad_request,
                      "step: expected 1m, 5m, 15m, 30m, 1h, 6h, 12h, 1d or 7d", req.version(),
                      "step");
  if ((to - from) / *width >= agent::max_report_buckets)
    return json_error(bhttp::status::bad_request,
                      "step: more than " + std::to_string(agent::max_report_buckets) +
                          " buckets between from and to; take a larger step or a shorter window",
                      req.version(), "step");
  return *width;
}

}  // namespace vitals::http
