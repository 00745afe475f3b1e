// The storage concepts: what every store is (`store`) and the optional
// capabilities the generic code asks for with `if constexpr` and uses when
// present (`latest_all_store`, `versioned_store`, `aggregating_store`,
// `downsampling_store`, `label_dropping_store`), plus what a tiered store
// needs of its hot tier (`hot_tier`). Std only: a range query is the store layer's type
// (stores::range_query carries an RE2 selector), so the concepts that take
// one have it as a parameter, bound by stores/query.hpp and stores/tiered.hpp.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/core/watching.hpp"

namespace vitals {

/// A point of a series in a store: time and value, the series being implied.
struct point {
  timestamp t;
  double value = 0;
  friend bool operator==(const point&, const point&) = default;
};

// --- store -----------------------------------------------------------------
// 1. `s.append(batch)` takes a span of samples and returns a `status`: batches
//    amortise locks and transactions; a refused write is a value so the caller
//    can spool it instead of losing it.
// 2. `s.latest(series)` returns `std::optional<point>`: "nothing yet" is a
//    normal answer for a series that was never written.
// 3. `s.range(series, from, to)` returns the raw points in [from, to] in time
//    order as `std::vector<point>`: downsampling is done the same way for every
//    store on top of this (stores may also offer a faster pushed-down path).
// 4. `s.list_series()` returns `std::vector<series>`: the HTTP API and the
//    selector matching need to enumerate what exists.
template <class S>
concept store = requires(S& s, std::span<const sample> batch, const series& id, timestamp t) {
  { s.append(batch) } -> std::same_as<status>;
  { s.latest(id) } -> std::same_as<std::optional<point>>;
  { s.range(id, t, t) } -> std::same_as<std::vector<point>>;
  { s.list_series() } -> std::same_as<std::vector<series>>;
};

// --- latest_all_store (optional) -------------------------------------------
// 1. A `store` (1 to 4).
// 2. `s.latest_all()` returns the latest point of every series as
//    `std::vector<std::pair<series, point>>`, in one pass: /metrics and
//    /api/v1/latest ask for all of them on every request, and one query (or
//    one walk of an index) beats a lookup per series. Stores without it are
//    asked series by series (`stores::latest_points`, `stores::query_latest`).
template <class S>
concept latest_all_store = store<S> && requires(S& s) {
  { s.latest_all() } -> std::same_as<std::vector<std::pair<series, point>>>;
};

// --- versioned_store (optional) --------------------------------------------
// 1. A `latest_all_store` (1 and 2).
// 2. `s.version()` returns a `std::uint64_t` that grows whenever what
//    `latest_all()` returns may have changed (an append, a drop, a prune), and
//    only then. Samples arrive once per interval while /metrics may be scraped
//    far more often: the route renders the store's families once per version
//    and serves that text until the version moves.
template <class S>
concept versioned_store = latest_all_store<S> && requires(S& s) {
  { s.version() } -> std::same_as<std::uint64_t>;
};

// --- aggregating_store<S, Query> (optional) --------------------------------
// `Query` is the store layer's range query (stores::range_query).
// 1. A `store` (1 to 4).
// 2. `s.range_aggregated(series, query, step)` returns
//    `result<std::vector<point>>`, the buckets computed where the data is (SQL
//    GROUP BY): only the buckets cross the wire, not every raw point. It gives
//    the same answer as `stores::downsample` for mean, min, max, sum, count and
//    last; `step` is the one the caller resolved, so every series of a query
//    is bucketed alike. A failed query is a value (the database may be gone).
template <class S, class Query>
concept aggregating_store = store<S> &&
    requires(S& s, const series& id, const Query& q, std::chrono::milliseconds step) {
  { s.range_aggregated(id, q, step) } -> std::same_as<result<std::vector<point>>>;
};

// --- downsampling_store<S, Query> (optional) -------------------------------
// 1. A `store` (1 to 4).
// 2. `s.downsample(series, query)` returns the bucketed points as
//    `std::vector<point>`, computed over the store's own memory without copying
//    the raw points first; the same answer as `stores::downsample` over
//    `range()`. It cannot fail: the data is in memory.
template <class S, class Query>
concept downsampling_store = store<S> && requires(S& s, const series& id, const Query& q) {
  { s.downsample(id, q) } -> std::same_as<std::vector<point>>;
};

// --- label_dropping_store (optional) -------------------------------------
// 1. A `store` (1 to 4).
// 2. `s.drop_labelled(name, value)` forgets every series whose label `name`
//    is `value`, with all its samples, and returns `result<std::size_t>`,
//    the series forgotten: untracking a target with `?discard=true` drops
//    every series labelled `target=<id>` in one call, where a caller going
//    series by series would list (and decode) the whole store first. A
//    failed delete is a value (the database may be gone); no such series is
//    zero, not an error (a second discard finds nothing).
template <class S>
concept label_dropping_store = store<S> && requires(S& s, std::string_view name) {
  { s.drop_labelled(name, name) } -> std::same_as<result<std::size_t>>;
};

// --- hot_tier<S, Query, Selector> ------------------------------------------
// What `stores::tiered` reads recent windows from and hands watchers to.
// 1. A `downsampling_store<S, Query>`: recent windows are served in place.
// 2. `s.earliest(series)` returns `std::optional<timestamp>`, the oldest point
//    it still holds: the tiered store reads a window from the hot tier only
//    when the hot tier reaches back to the window's start (else from the cold).
// 3. `watchable<S, Selector>`: watchers follow the tier every sample reaches
//    first and that keeps them in memory.
template <class S, class Query, class Selector>
concept hot_tier = downsampling_store<S, Query> && watchable<S, Selector> &&
    requires(S& s, const series& id) {
  { s.earliest(id) } -> std::same_as<std::optional<timestamp>>;
};

}  // namespace vitals
