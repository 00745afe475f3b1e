// A sample store chosen at run time: one type for every backend a program
// may pick from its flags (memory, tiered over SQLite or PostgreSQL, a
// followed view), so the code above it (pipeline, poller, routes) is
// compiled once instead of once per backend. The agent monitor uses it for
// that reason: each store combination instantiated its whole server again
// (docs/benchmarks.md, issue 14).
//
// The cost is one virtual call per store call: per batch on the write side
// (a poll appends one batch per target), per series or per request on the
// read side; never per sample. A program with one backend keeps the store's
// own type and pays nothing.
//
// `any_store` refers to a store it does not own. It models every capability
// of core/storage.hpp, and answers each the way the generic code would have
// for the store behind it: a store without `range_aggregated` has its
// buckets computed by `downsample` or over `range`, as stores::query_range
// does; without `prune_before` nothing is pruned; without `poll` (only a
// followed view has it) nothing is published. The store must be a
// `versioned_store`, a `label_dropping_store` and watchable: what every
// bundled choice is, and what /metrics' cache, untracking with
// `?discard=true` and SSE need.
#pragma once

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/watch.hpp"

namespace vitals::stores {

/// What `any_store` asks of the store behind it.
template <class S>
concept erasable_store = versioned_store<S> && label_dropping_store<S> &&
    requires(S& s, selector sel, std::function<void()> notify, std::size_t capacity) {
  { s.watch(std::move(sel), std::move(notify), capacity) } -> std::same_as<subscription>;
};

class any_store {
 public:
  template <erasable_store S>
  requires(!std::same_as<S, any_store>) explicit any_store(S& s)
      : impl_(std::make_unique<model<S>>(s)) {}
  any_store(const any_store&) = delete;
  any_store& operator=(const any_store&) = delete;

  status append(std::span<const sample> batch) { return impl_->append(batch); }
  std::optional<point> latest(const series& id) { return impl_->latest(id); }
  std::vector<point> range(const series& id, timestamp from, timestamp to) {
    return impl_->range(id, from, to);
  }
  std::vector<series> list_series() { return impl_->list_series(); }
  std::vector<std::pair<series, point>> latest_all() { return impl_->latest_all(); }
  std::uint64_t version() { return impl_->version(); }
  result<std::vector<point>> range_aggregated(const series& id, const range_query& q,
                                              duration step) {
    return impl_->range_aggregated(id, q, step);
  }
  std::vector<point> downsample(const series& id, const range_query& q) {
    return impl_->downsample(id, q);
  }
  result<std::size_t> drop_labelled(std::string_view name, std::string_view value) {
    return impl_->drop_labelled(name, value);
  }
  /// Forgets a series; false when the store did not hold it or cannot drop
  /// one (a followed view).
  bool drop(const series& id) { return impl_->drop(id); }
  result<std::int64_t> prune_before(timestamp cutoff) { return impl_->prune_before(cutoff); }
  subscription watch(selector sel, std::function<void()> notify, std::size_t capacity) {
    return impl_->watch(std::move(sel), std::move(notify), capacity);
  }
  /// A followed view's poll (stores/followed.hpp); 0 for any other store.
  std::size_t poll() { return impl_->poll(); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual status append(std::span<const sample>) = 0;
    virtual std::optional<point> latest(const series&) = 0;
    virtual std::vector<point> range(const series&, timestamp, timestamp) = 0;
    virtual std::vector<series> list_series() = 0;
    virtual std::vector<std::pair<series, point>> latest_all() = 0;
    virtual std::uint64_t version() = 0;
    virtual result<std::vector<point>> range_aggregated(const series&, const range_query&,
                                                        duration) = 0;
    virtual std::vector<point> downsample(const series&, const range_query&) = 0;
    virtual result<std::size_t> drop_labelled(std::string_view, std::string_view) = 0;
    virtual bool drop(const series&) = 0;
    virtual result<std::int64_t> prune_before(timestamp) = 0;
    virtual subscription watch(selector, std::function<void()>, std::size_t) = 0;
    virtual std::size_t poll() = 0;
  };

  template <class S>
  struct model final : concept_t {
    explicit model(S& s) : s(s) {}
    S& s;

    status append(std::span<const sample> batch) override { return s.append(batch); }
    std::optional<point> latest(const series& id) override { return s.latest(id); }
    std::vector<point> range(const series& id, timestamp from, timestamp to) override {
      return s.range(id, from, to);
    }
    std::vector<series> list_series() override { return s.list_series(); }
    std::vector<std::pair<series, point>> latest_all() override { return s.latest_all(); }
    std::uint64_t version() override { return s.version(); }
    // query_range asks this only for the aggregations SQL computes
    // (pushes_down); a store that does not push them down answers as
    // query_range would have asked it. For m4, LTTB and rate a SQL store
    // refuses (check_pushdown) where another answers: query_range never asks.
    result<std::vector<point>> range_aggregated(const series& id, const range_query& q,
                                                duration step) override {
      if constexpr (aggregating_store<S, range_query>)
        return s.range_aggregated(id, q, step);
      else
        return downsample(id, q);
    }
    // query_range asks this for what is not pushed down but LTTB (m4, rate).
    std::vector<point> downsample(const series& id, const range_query& q) override {
      if constexpr (downsampling_store<S, range_query>) {
        return s.downsample(id, q);
      } else {
        if (!check_range(q)) return {};  // query_range reports why
        return stores::downsample(s.range(id, query_start(q), q.to), q);
      }
    }
    result<std::size_t> drop_labelled(std::string_view name, std::string_view value) override {
      return s.drop_labelled(name, value);
    }
    bool drop(const series& id) override {
      if constexpr (requires { s.drop(id); })
        return s.drop(id);
      else
        return false;
    }
    result<std::int64_t> prune_before(timestamp cutoff) override {
      if constexpr (requires { s.prune_before(cutoff); })
        return s.prune_before(cutoff);
      else
        return std::int64_t{0};
    }
    subscription watch(selector sel, std::function<void()> notify, std::size_t capacity) override {
      return s.watch(std::move(sel), std::move(notify), capacity);
    }
    std::size_t poll() override {
      if constexpr (requires { s.poll(); })
        return s.poll();
      else
        return 0;
    }
  };

  std::unique_ptr<concept_t> impl_;
};

static_assert(versioned_store<any_store> && label_dropping_store<any_store> &&
              aggregating_store<any_store, range_query> &&
              downsampling_store<any_store, range_query>);

}  // namespace vitals::stores
