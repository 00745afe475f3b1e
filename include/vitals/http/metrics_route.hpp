// `GET /metrics` over a registry (or any snapshot_source) and a store: what
// a server that only exposes its metrics needs, without the query API
// (http/api.hpp, which includes this), its selectors, RE2 or Boost.JSON.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/sampling.hpp"
#include "vitals/core/storage.hpp"
#include "vitals/format/families.hpp"
#include "vitals/format/negotiate.hpp"
#include "vitals/http/router.hpp"
#include "vitals/stores/latest.hpp"

namespace vitals::http {

/// `GET /metrics`: Prometheus text 0.0.4, OpenMetrics 1.0 or the protobuf
/// format (native histograms), from the Accept header.
/// The registry is collected on every request; the store's part is rendered
/// once per store version (versioned_store) and format, and served from that
/// text until a sample, a drop or a prune moves the version or the registry
/// starts exposing another name.
///
/// The members with a body of any size are defined below the class, not in
/// it: only then does an `extern template` (the compiled mode, at the end of
/// this file) keep a translation unit from instantiating and compiling them.
template <snapshot_source Registry, store Store>
class metrics_route {
 public:
  metrics_route(const Registry& r, Store& s) : registry_(r), store_(s) {}
  metrics_route(const metrics_route& o) : registry_(o.registry_), store_(o.store_) {}
  bool matches(std::string_view p) const noexcept { return p == "/metrics"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex);

 private:
  /// The registry's families as (name, type): which names the store's part
  /// must leave out follows from these alone.
  using shape = std::vector<std::pair<std::string, metric_type>>;
  static bool same_shape(const shape& a, const metric_snapshot& snap);

  struct rendered {
    std::uint64_t version = 0;
    shape registry;
    std::string text;
    bool valid = false;
  };

  void append_store_part(std::string& out, const metric_snapshot& snap, format::exposition e);
  std::string render(format::name_set taken, format::exposition e);

  const Registry& registry_;
  Store& store_;
  std::mutex cache_mu_;
  std::array<rendered, format::exposition_count> cache_;  // one per format
  std::atomic<std::size_t> size_hint_{0};                 // the last body's size and some
};

template <snapshot_source Registry, store Store>
asio::awaitable<std::optional<response>> metrics_route<Registry, Store>::handle(const request& req,
                                                                                exchange& ex) {
  ex.route("metrics");
  auto p = checked_params(req, {});
  if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
  const metric_snapshot snap = registry_.collect();
  const auto e = format::negotiate(req[bhttp::field::accept]);
  response res{bhttp::status::ok, req.version()};
  res.set(bhttp::field::content_type, format::content_type(e));
  res.body().reserve(size_hint_.load(std::memory_order_relaxed));  // one allocation
  format::write_families(res.body(), snap, e);
  append_store_part(res.body(), snap, e);
  format::write_end(res.body(), e);
  size_hint_.store(res.body().size() + res.body().size() / 8, std::memory_order_relaxed);
  co_return res;
}

template <snapshot_source Registry, store Store>
bool metrics_route<Registry, Store>::same_shape(const shape& a, const metric_snapshot& snap) {
  if (a.size() != snap.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (a[i].second != snap[i].type || a[i].first != snap[i].name) return false;
  return true;
}

template <snapshot_source Registry, store Store>
void metrics_route<Registry, Store>::append_store_part(std::string& out,
                                                       const metric_snapshot& snap,
                                                       format::exposition e) {
  if constexpr (requires { requires Store::always_empty; }) {
    return;  // no part to add (the null store)
  } else if constexpr (versioned_store<Store>) {
    const std::uint64_t v = store_.version();  // before reading: a later write moves it
    auto& slot = cache_[static_cast<std::size_t>(e)];
    {
      std::lock_guard lock(cache_mu_);
      if (slot.valid && slot.version == v && same_shape(slot.registry, snap)) {
        out += slot.text;
        return;
      }
    }
    rendered fresh{v, {}, render(format::exposed_names(snap), e), true};
    fresh.registry.reserve(snap.size());
    for (const auto& f : snap) fresh.registry.emplace_back(f.name, f.type);
    out += fresh.text;
    std::lock_guard lock(cache_mu_);
    if (!slot.valid || slot.version <= v) slot = std::move(fresh);
  } else {
    out += render(format::exposed_names(snap), e);
  }
}

template <snapshot_source Registry, store Store>
std::string metrics_route<Registry, Store>::render(format::name_set taken, format::exposition e) {
  metric_snapshot part;
  format::append_families(stores::latest_points(store_), taken, part);
  std::string text;
  format::write_families(text, part, e);
  return text;
}

}  // namespace vitals::http

#if defined(VITALS_SEPARATE_COMPILATION)
// The route over a registry and the null store, as the minimal exporter uses
// it, is compiled once into vitals::compiled (the memory store's: api.hpp).
#include "vitals/instruments/registry.hpp"
#include "vitals/stores/null.hpp"

namespace vitals::http {
extern template class metrics_route<registry, stores::null_store>;
}  // namespace vitals::http
#endif
