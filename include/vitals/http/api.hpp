// The read side of the API over any store: /metrics (the registry plus the
// store's latest values, http/metrics_route.hpp), /api/v1/series,
// /api/v1/latest and /api/v1/range. Shapes and parameters are documented in
// docs/http-api.md.
#pragma once

#include <boost/json.hpp>

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/format/families.hpp"
#include "vitals/format/negotiate.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/http/metrics_route.hpp"
#include "vitals/http/router.hpp"
#include "vitals/samplers/registry.hpp"
#include "vitals/stores/query.hpp"

namespace vitals::http {

namespace detail {

/// A selector parameter; absent or empty selects everything.
inline std::variant<stores::selector, response> selector_param(const params& p, unsigned version) {
  const auto text = p.get("sel");
  if (!text || text->empty()) return stores::selector{};
  auto sel = stores::selector::parse(*text);
  if (!sel) return bad_parameter({"sel", "sel: " + sel.error().message}, version);
  return std::move(*sel);
}

}  // namespace detail

/// `GET /api/v1/series`, `/api/v1/latest` and `/api/v1/range` over one store.
template <store Store>
class query_routes {
 public:
  explicit query_routes(Store& s) : store_(s) {}
  bool matches(std::string_view p) const noexcept {
    return p == "/api/v1/series" || p == "/api/v1/latest" || p == "/api/v1/range";
  }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex);

 private:
  response range(const request& req, exchange& ex);

  Store& store_;
};

// Below the class, so that the compiled mode's `extern template` keeps files
// from compiling them (members defined in a class are inline).
template <store Store>
asio::awaitable<std::optional<response>> query_routes<Store>::handle(const request& req,
                                                                     exchange& ex) {
  const auto path = path_of(req.target());
  if (path == "/api/v1/range") co_return range(req, ex);
  const bool latest = path == "/api/v1/latest";
  ex.route(latest ? "latest" : "series");
  auto p = checked_params(req, {"sel"});
  if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
  auto sel = detail::selector_param(std::get<params>(p), req.version());
  if (auto* r = std::get_if<response>(&sel)) co_return std::move(*r);
  const auto& s = std::get<stores::selector>(sel);
  boost::json::array out;
  if (latest) {
    for (auto& [id, pt] : stores::query_latest(store_, s)) {
      boost::json::object o;
      o["name"] = id.name();
      o["labels"] = labels_json(id.labels());
      o["t"] = to_unix_ms(pt.t);
      o["v"] = value_json(pt.value);
      out.push_back(std::move(o));
    }
  } else {
    for (const auto& id : store_.list_series()) {
      if (!s.matches(id)) continue;
      boost::json::object o;
      o["name"] = id.name();
      o["labels"] = labels_json(id.labels());
      out.push_back(std::move(o));
    }
  }
  co_return json_answer(out, req.version());
}

template <store Store>
response query_routes<Store>::range(const request& req, exchange& ex) {
  ex.route("range");
  const unsigned v = req.version();
  auto p = checked_params(req, {"sel", "from", "to", "step", "agg"});
  if (auto* r = std::get_if<response>(&p)) return std::move(*r);
  const auto& ps = std::get<params>(p);
  auto sel = detail::selector_param(ps, v);
  if (auto* r = std::get_if<response>(&sel)) return std::move(*r);
  stores::range_query q;
  q.selector = std::get<stores::selector>(sel);
  const timestamp t_now = vitals::now();
  q.to = t_now;
  q.from = t_now - std::chrono::hours(1);
  for (auto [name, field] : {std::pair{"from", &q.from}, std::pair{"to", &q.to}}) {
    if (auto text = ps.get(name)) {
      auto t = parse_time(*text, t_now);
      if (!t) return bad_parameter({name, std::string(name) + ": " + t.error().message}, v);
      *field = *t;
    }
  }
  if (q.to < q.from) return bad_parameter({"from", "from: after 'to'"}, v);
  if (auto step = ps.get("step"); step && *step != "auto") {
    auto d = vitals::parse_duration(*step);
    if (!d) return bad_parameter({"step", "step: " + d.error().message}, v);
    q.step = *d;
  }
  if (auto agg = ps.get("agg")) {
    auto a = stores::parse_aggregation(*agg);
    if (!a) return bad_parameter({"agg", "agg: " + a.error().message}, v);
    q.agg = *a;
  }
  // Times are in range by now; this refuses a window and step that would
  // give a series more than max_points_per_series points (the stores
  // check the same, for callers other than this route).
  if (auto st = stores::check_range(q); !st) {
    const auto& m = st.error().message;
    const auto colon = m.find(':');
    const std::string name = colon == std::string::npos ? "step" : m.substr(0, colon);
    return bad_parameter({name, m}, v);
  }
  auto rows = stores::query_range(store_, q);
  if (!rows) return json_error(bhttp::status::internal_server_error, rows.error().message, v);
  boost::json::array out;
  for (auto& row : *rows) {
    boost::json::object o;
    o["name"] = row.series.name();
    o["labels"] = labels_json(row.series.labels());
    boost::json::array pts;
    pts.reserve(row.points.size());
    for (const auto& pt : row.points)
      pts.push_back(boost::json::array{to_unix_ms(pt.t), value_json(pt.value)});
    o["points"] = std::move(pts);
    out.push_back(std::move(o));
  }
  return json_answer(out, v);
}

}  // namespace vitals::http

#if defined(VITALS_SEPARATE_COMPILATION)
// The routes over the in-memory store, as most embedders use them, are
// compiled once into vitals::compiled.
#include "vitals/stores/memory.hpp"

namespace vitals::http {
extern template class metrics_route<registry, stores::memory_store>;
extern template class query_routes<stores::memory_store>;
}  // namespace vitals::http
#endif
