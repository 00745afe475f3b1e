// `GET|POST /api/v1/targets` and `DELETE /api/v1/targets/<id>`: track and
// untrack at run time through any `target_manager`.
#pragma once

#include <boost/json.hpp>

#include <concepts>
#include <type_traits>

#include "vitals/core/time.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/http/router.hpp"
#include "vitals/net/url.hpp"
#include "vitals/runtime/targets.hpp"
#include "vitals/samplers/scrape.hpp"

namespace vitals::http {

/// A spec from the JSON body of POST /api/v1/targets; errors name the field.
inline std::variant<target_spec, param_error> parse_target_spec(std::string_view body) {
  boost::system::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec) return param_error{"body", "body: invalid JSON: " + ec.message()};
  const auto* o = v.if_object();
  if (!o) return param_error{"body", "body: expected a JSON object"};
  target_spec s;
  auto text = [&](std::string_view key, std::string& out) -> std::optional<param_error> {
    const auto* f = o->if_contains(key);
    if (!f) return std::nullopt;
    if (!f->is_string())
      return param_error{std::string(key), std::string(key) + ": expected a string"};
    out = std::string(f->get_string());
    return std::nullopt;
  };
  for (const auto& [key, _] : *o)
    if (key != "id" && key != "kind" && key != "pid" && key != "path" && key != "url" &&
        key != "interval" && key != "labels" && key != "requests_counter" &&
        key != "latency_histogram")
      return param_error{std::string(key), "unknown field '" + std::string(key) + "'"};
  for (auto [key, out] :
       {std::pair{"id", &s.id}, std::pair{"kind", &s.kind}, std::pair{"path", &s.path},
        std::pair{"url", &s.url}, std::pair{"requests_counter", &s.requests_counter},
        std::pair{"latency_histogram", &s.latency_histogram}})
    if (auto e = text(key, *out)) return *e;
  if (s.id.empty()) return param_error{"id", "id: required"};
  if (auto ok = check_target_id(s.id); !ok) return param_error{"id", ok.error().message};
  if (s.kind == "process") {
    const auto* pid = o->if_contains("pid");
    if (!pid || !pid->is_int64() || pid->as_int64() <= 0 || pid->as_int64() > 0x3fffffff)
      return param_error{"pid", "pid: a process target needs a positive integer pid"};
    s.pid = static_cast<int>(pid->as_int64());
  } else if (s.kind == "cgroup") {
    if (!s.path.starts_with('/') || s.path.find("/../") != std::string::npos ||
        s.path.ends_with("/.."))
      return param_error{"path", "path: a cgroup target needs an absolute path without '..'"};
  } else if (s.kind == "scrape") {
    if (auto u = net::parse_http_url(s.url, "/metrics"); !u)
      return param_error{"url", "url: a scrape target needs an http:// url: " + u.error().message};
    for (auto [key, name] : {std::pair{"requests_counter", &s.requests_counter},
                             std::pair{"latency_histogram", &s.latency_histogram}})
      if (o->contains(key))
        if (auto st = samplers::check_scrape_family(key, *name); !st)
          return param_error{key, st.error().message};
  } else {
    return param_error{"kind", "kind: expected process, cgroup or scrape"};
  }
  for (std::string_view key : {"requests_counter", "latency_histogram"})
    if (o->contains(key) && s.kind != "scrape")
      return param_error{std::string(key), std::string(key) + ": only for scrape targets"};
  if (const auto* iv = o->if_contains("interval")) {
    if (!iv->is_string())
      return param_error{"interval", "interval: expected a duration such as \"10s\""};
    auto d = vitals::parse_duration(iv->get_string());
    if (!d) return param_error{"interval", "interval: " + d.error().message};
    if (*d < min_target_interval) return param_error{"interval", "interval: at least 1s"};
    s.interval = *d;
  }
  if (const auto* ls = o->if_contains("labels")) {
    if (!ls->is_object()) return param_error{"labels", "labels: expected an object of strings"};
    std::vector<label> pairs{{"target", s.id}};
    for (const auto& [k, lv] : ls->get_object()) {
      if (!lv.is_string() || k == "target")
        return param_error{"labels",
                           "labels: '" + std::string(k) + "' must be a string and not 'target'"};
      pairs.push_back({std::string(k), std::string(lv.get_string())});
    }
    auto made = label_set::make(std::move(pairs));
    if (!made) return param_error{"labels", "labels: " + made.error().message};
    s.labels = std::move(*made);
  } else {
    s.labels = label_set{{"target", s.id}};
  }
  return s;
}

inline boost::json::object target_json(const target_info& t) {
  boost::json::object o;
  o["id"] = t.spec.id;
  o["kind"] = t.spec.kind;
  if (t.spec.kind == "process") o["pid"] = t.spec.pid;
  if (!t.spec.path.empty()) o["path"] = t.spec.path;
  if (!t.spec.url.empty()) o["url"] = t.spec.url;
  if (!t.spec.requests_counter.empty()) o["requests_counter"] = t.spec.requests_counter;
  if (!t.spec.latency_histogram.empty()) o["latency_histogram"] = t.spec.latency_histogram;
  if (t.spec.interval) o["interval_ms"] = t.spec.interval->count();
  o["labels"] = labels_json(t.spec.labels);
  o["ticks"] = t.ticks;
  o["errors"] = t.errors;
  o["last_error"] = t.last_error;
  return o;
}

/// `Store`: where `DELETE ...?discard=true` drops the target's series, when
/// it is a `label_dropping_store`; `void` or a store without that
/// capability: discard is refused (400 naming it), untracking still works.
template <target_manager Targets, class Store = void>
class targets_route {
  static constexpr bool can_discard = [] {
    if constexpr (std::is_void_v<Store>)
      return false;
    else
      return label_dropping_store<Store>;
  }();

 public:
  explicit targets_route(Targets& t) : targets_(t) {}
  template <std::same_as<Store> S>  // never void: no constructor takes a store then
  targets_route(Targets& t, S& s) : targets_(t), store_(&s) {}

  bool matches(std::string_view p) const noexcept {
    return p == "/api/v1/targets" || p.starts_with("/api/v1/targets/");
  }
  bool allows(bhttp::verb v) const noexcept {
    return v == bhttp::verb::get || v == bhttp::verb::post || v == bhttp::verb::delete_;
  }
  std::string_view allow() const noexcept { return "GET, POST, DELETE"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("targets");
    if (path_of(req.target()) != "/api/v1/targets" && req.method() == bhttp::verb::delete_) {
      response res = co_await untrack(req);
      co_return res;
    }
    co_return answer(req);
  }

 private:
  // DELETE /api/v1/targets/<id>[?discard=true|false]
  asio::awaitable<response> untrack(const request& req) {
    const unsigned v = req.version();
    auto p = checked_params(req, {"discard"});
    if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
    bool discard = false;
    if (auto d = std::get<params>(p).get("discard")) {
      if (*d != "true" && *d != "false")
        co_return bad_parameter({"discard", "discard: expected true or false, got '" +
                                                std::string(d->substr(0, 32)) + "'"},
                                v);
      discard = *d == "true";
    }
    if (discard && !can_discard)
      co_return bad_parameter({"discard", "discard: this server cannot drop stored samples"}, v);
    const auto path = path_of(req.target());
    auto id = percent_decode(path.substr(std::string_view("/api/v1/targets/").size()));
    bool removed = false;
    // co_await only as a plain statement: GCC 12 miscompiles it inside `?:`
    // and conditions (a crash destroying the awaited frame).
    if constexpr (settling_target_manager<Targets>) {
      if (id && discard) {
        const bool settled = co_await targets_.async_remove(*id);
        removed = settled;
      } else if (id) {
        removed = targets_.remove(*id);
      }
    } else {
      removed = id && targets_.remove(*id);
    }
    if (!removed)
      co_return json_error(bhttp::status::not_found, "no target '" + id.value_or("?") + "'", v);
    if (!discard) co_return response{bhttp::status::no_content, v};
    if constexpr (can_discard) {
      // Every series the target wrote carries target=<id> (parse_target_spec).
      auto n = store_->drop_labelled("target", *id);
      if (!n)
        co_return json_error(
            bhttp::status::service_unavailable,
            "target '" + *id + "' untracked, its samples not discarded: " + n.error().message, v);
      co_return json_answer(
          boost::json::object{{"id", *id}, {"discarded_series", static_cast<std::uint64_t>(*n)}},
          v);
    }
    co_return response{bhttp::status::no_content, v};  // not reached: discard needs a store
  }

  response answer(const request& req) {
    const unsigned v = req.version();
    const auto path = path_of(req.target());
    auto p = checked_params(req, {});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    if (path != "/api/v1/targets") {  // /api/v1/targets/<id>, not DELETE
      auto res = json_error(bhttp::status::method_not_allowed, "only DELETE is allowed here", v);
      res.set(bhttp::field::allow, "DELETE");
      return res;
    }
    if (req.method() == bhttp::verb::delete_) {
      auto res =
          json_error(bhttp::status::method_not_allowed, "DELETE needs /api/v1/targets/<id>", v);
      res.set(bhttp::field::allow, "GET, POST");
      return res;
    }
    if (req.method() == bhttp::verb::get) {
      boost::json::array out;
      for (const auto& t : targets_.list()) out.push_back(target_json(t));
      return json_answer(out, v);
    }
    auto spec = parse_target_spec(req.body());
    if (auto* e = std::get_if<param_error>(&spec)) return bad_parameter(*e, v);
    auto& s = std::get<target_spec>(spec);
    const std::string id = s.id;
    if (auto st = targets_.add(std::move(s)); !st) {
      const auto code = st.error().code == make_error_code(errc::already_exists)
                            ? bhttp::status::conflict
                        : st.error().code == make_error_code(errc::unavailable)
                            ? bhttp::status::service_unavailable
                        : st.error().code == make_error_code(errc::limit_exceeded)
                            ? bhttp::status::too_many_requests
                            : bhttp::status::bad_request;
      return json_error(code, st.error().message, v);
    }
    return json_answer(boost::json::object{{"id", id}}, v, bhttp::status::created);
  }

  Targets& targets_;
  Store* store_ = nullptr;
};

template <class Targets>
targets_route(Targets&) -> targets_route<Targets>;
template <class Targets, class Store>
targets_route(Targets&, Store&) -> targets_route<Targets, Store>;

}  // namespace vitals::http
