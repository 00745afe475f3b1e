// A family: one metric name, one set of label names, and a series per
// distinct tuple of label values. `with(values...)` returns a reference that
// stays valid until the series is removed, so hot code looks it up once.
//
// Lookups are lock-free (an open-addressing table of atomic slots); inserts
// and removals take a mutex. Past `max_series` distinct tuples, new tuples all
// share one overflow series labelled {vitals_overflow="true"}, and every such
// lookup is counted.
//
// Stale series: a family made with a `ttl` (family_options) drops, at
// collection, each series that has not changed and not been looked up with
// with() for that long, so labels that stop being used (a finished agent, a
// model no longer called) leave /metrics and memory. Counted in
// vitals_series_expired_total{family}. Nothing is added to the increment:
// a series counts as touched when its value differs from the last
// collection's, or with() found it since. An expired series waits one more
// ttl before its memory is freed: a write through a reference taken before
// it expired, or a with() of its labels, brings it back (counted as revived)
// with its values. To cache a reference in a ttl family for longer than the
// ttl without writing to it, hold a `handle` (hold()): a held series may
// leave /metrics when idle, but is freed only when no handle is left.
//
// Everything that does not need the instrument type (the table, removal,
// collection and the ttl bookkeeping) is one class, detail::family_core,
// defined in instruments/detail/family_impl.hpp: compiled once per file
// header-only, once into vitals::compiled in the compiled mode
// (core/detail/config.hpp), instead of once per instrument type.
// family<Metric> adds the instrument to each series and the typed lookups.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/detail/hash.hpp"

namespace vitals {

inline constexpr std::size_t default_max_series = 2000;

/// Per-family options beyond the name, help and labels.
struct family_options {
  /// Series not changed and not looked up for this long are dropped at
  /// collection; zero (the default): series stay until remove().
  std::chrono::milliseconds ttl{0};
};

/// The interface the registry collects through (not on the sample path).
class collectable {
 public:
  virtual ~collectable() = default;
  virtual void collect(metric_snapshot& out) const = 0;
};

namespace detail {

/// One series of a family, without its instrument (family<Metric>::series
/// adds it, after these members: no vtable, so the lookup reads `values` at
/// the start of the series, as before the split).
struct series_entry {
  series_entry(std::span<const std::string_view> v, label_set l)
      : values(v.begin(), v.end()), labels(std::move(l)), changed(vitals::now()) {}
  series_entry(const series_entry&) = delete;
  series_entry& operator=(const series_entry&) = delete;

  bool same(std::span<const std::string_view> v) const noexcept {
    if (v.size() != values.size()) return false;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (v[i] != values[i]) return false;
    return true;
  }

  std::vector<std::string> values;
  label_set labels;
  // ttl families only. Set by lookups; cleared by the collection that sees it.
  std::atomic<bool> looked_up{false};
  std::atomic<std::uint32_t> holds{0};  // handles out
  // Under the family's mutex: what the last collection saw, and when it last changed.
  double seen = std::nan("");
  timestamp changed;
};

/// The part of a family that does not depend on the instrument type. The
/// lookup is inline (it is the labelled write path); inserts, removal and
/// collection are VITALS_DECL.
class family_core : public collectable {
 public:
  family_core(const family_core&) = delete;
  family_core& operator=(const family_core&) = delete;
  VITALS_DECL ~family_core() override;

  std::chrono::milliseconds ttl() const noexcept { return ttl_; }
  std::uint64_t expired() const noexcept { return expired_.load(std::memory_order_relaxed); }
  std::uint64_t revived() const noexcept { return revived_.load(std::memory_order_relaxed); }
  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  std::uint64_t overflowed() const noexcept { return overflowed_.load(std::memory_order_relaxed); }

  VITALS_DECL bool remove(std::span<const std::string_view> values);
  VITALS_DECL std::size_t size() const;
  VITALS_DECL void collect(metric_snapshot& out) const override;

 protected:
  /// What the core cannot do without the instrument type.
  struct series_ops {
    void (*collect)(const series_entry& e, metric_point& p);
    void (*destroy)(series_entry* e) noexcept;
  };

  // Throws std::invalid_argument for a bad name, label name, duplicate label
  // name or negative ttl.
  VITALS_DECL family_core(std::string name, std::string help, std::vector<std::string> label_names,
                          metric_type type, std::size_t max_series, family_options opts,
                          series_ops ops);

  /// A new series with these values and labels, its instrument made from the family's config.
  virtual series_entry* make_series(std::span<const std::string_view> values,
                                    label_set labels) const = 0;

  series_entry& lookup(std::span<const std::string_view> values) {
    const std::uint64_t h = detail::hash_values(values);
    if (series_entry* e = find(table_.load(std::memory_order_acquire), h, values)) {
      // Read first: a series looked up often keeps its cache line shared.
      if (ttl_.count() > 0 && !e->looked_up.load(std::memory_order_relaxed))
        e->looked_up.store(true, std::memory_order_relaxed);
      return *e;
    }
    return insert_slow(h, values);
  }

  series_entry* find(std::span<const std::string_view> values) const {
    if (values.size() != label_names_.size()) return nullptr;
    return find(table_.load(std::memory_order_acquire), detail::hash_values(values), values);
  }

 private:
  struct retired_entry {
    series_entry* e;
    timestamp since;
    std::uint64_t collection;  // the one that retired it
  };

  struct slot {
    std::atomic<std::uint64_t> hash{0};
    std::atomic<series_entry*> e{nullptr};
  };

  struct table {
    explicit table(std::size_t capacity) : mask(capacity - 1), slots(new slot[capacity]) {}
    std::size_t mask;
    std::unique_ptr<slot[]> slots;
    std::size_t used = 0;  // live + tombstones, under the mutex
  };

  static series_entry* tombstone() noexcept {
    return reinterpret_cast<series_entry*>(alignof(series_entry));
  }

  static series_entry* find(const table* t, std::uint64_t h, std::span<const std::string_view> v) {
    for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
      const auto& s = t->slots[i];
      const std::uint64_t sh = s.hash.load(std::memory_order_acquire);
      if (sh == 0) return nullptr;
      if (sh == h) {
        series_entry* e = s.e.load(std::memory_order_acquire);
        if (e != tombstone() && e->same(v)) return e;
      }
    }
  }

  VITALS_DECL series_entry& insert_slow(std::uint64_t h, std::span<const std::string_view> values);
  VITALS_DECL series_entry& overflow_series();
  VITALS_DECL void collect_expiring(metric_family& f) const;
  VITALS_DECL void unlink(series_entry* e) const;
  VITALS_DECL void relink(series_entry* e) const;
  VITALS_DECL table* rehash(table* old) const;
  VITALS_DECL static void place(table* t, std::uint64_t h, series_entry* e);

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  metric_type type_;
  series_ops ops_;
  std::size_t max_series_;
  std::chrono::milliseconds ttl_;

  // Collection expires series (ttl families), so what it changes is mutable.
  mutable std::mutex mu_;
  mutable std::atomic<table*> table_{nullptr};
  mutable std::vector<std::unique_ptr<table>>
      retired_tables_;                          // owns every table, current included
  mutable std::vector<series_entry*> live_;     // insertion order, for collection
  mutable std::vector<retired_entry> retired_;  // expired, freed one ttl later unless held
  mutable std::atomic<std::uint64_t> expired_{0};
  mutable std::atomic<std::uint64_t> revived_{0};
  mutable std::uint64_t collections_ = 0;  // under mu_
  std::atomic<series_entry*> overflow_{nullptr};
  std::atomic<std::uint64_t> overflowed_{0};
};

}  // namespace detail

template <class Metric>
class family final : public detail::family_core {
  struct series;  // one series, below

 public:
  using config = typename Metric::config;

  family(std::string name, std::string help, std::vector<std::string> label_names, config cfg = {},
         std::size_t max_series = default_max_series, family_options opts = {})
      : family_core(std::move(name), std::move(help), std::move(label_names), Metric::type,
                    max_series, opts, {&collect_series, &destroy_series}),
        cfg_(std::move(cfg)) {}

  /// A series kept alive by the holder (see the file comment): copyable,
  /// and the series' memory stays while any copy lives. The family must
  /// outlive it.
  class handle {
   public:
    handle(const handle& o) noexcept : e_(o.e_) {
      e_->holds.fetch_add(1, std::memory_order_relaxed);
    }
    handle& operator=(const handle& o) noexcept {
      handle copy(o);
      std::swap(e_, copy.e_);
      return *this;
    }
    ~handle() { e_->holds.fetch_sub(1, std::memory_order_release); }
    Metric& operator*() const noexcept { return e_->metric; }
    Metric* operator->() const noexcept { return &e_->metric; }

   private:
    friend class family;
    explicit handle(series* e) noexcept : e_(e) {
      e_->holds.fetch_add(1, std::memory_order_relaxed);
    }
    series* e_;
  };

  /// with(), as a handle.
  template <class... V>
  requires(std::is_convertible_v<const V&, std::string_view>&&...) handle hold(const V&... values) {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return handle(&typed(lookup(std::span<const std::string_view>(v))));
  }

  /// Series dropped for their ttl (expired()), and brought back after
  /// (revived()), since the family was made; ttl(), name(), help(),
  /// label_names(), size() and overflowed() (lookups of new label values that
  /// went to the overflow series) come from detail::family_core.
  const config& metric_config() const noexcept { return cfg_; }

  /// The series for these label values (one per label name, in order).
  template <class... V>
  requires(std::is_convertible_v<const V&, std::string_view>&&...) Metric& with(
      const V&... values) {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return with(std::span<const std::string_view>(v));
  }

  Metric& with(std::span<const std::string_view> values) { return typed(lookup(values)).metric; }

  /// The series for these label values if it exists, else null: nothing is
  /// created and the overflow series is never returned (a lookup, as the
  /// 001 seed's Get*). Lock-free, as with().
  template <class... V>
  requires(std::is_convertible_v<const V&, std::string_view>&&...) Metric* find(
      const V&... values) const {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return find(std::span<const std::string_view>(v));
  }

  Metric* find(std::span<const std::string_view> values) const {
    detail::series_entry* e = family_core::find(values);
    return e ? &typed(*e).metric : nullptr;
  }

  /// Removes a series; returns whether it existed. References to it become
  /// invalid: using one after (or during) removal is a race in the caller.
  template <class... V>
  bool remove(const V&... values) {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return family_core::remove(std::span<const std::string_view>(v));
  }

  bool remove(std::span<const std::string_view> values) { return family_core::remove(values); }

 private:
  struct series final : detail::series_entry {
    series(std::span<const std::string_view> v, label_set l, const config& c)
        : series_entry(v, std::move(l)), metric(c) {}
    Metric metric;
  };

  static series& typed(detail::series_entry& e) noexcept { return static_cast<series&>(e); }
  static void collect_series(const detail::series_entry& e, metric_point& p) {
    static_cast<const series&>(e).metric.collect(p);
  }
  static void destroy_series(detail::series_entry* e) noexcept { delete static_cast<series*>(e); }

  detail::series_entry* make_series(std::span<const std::string_view> values,
                                    label_set labels) const override {
    return new series(values, std::move(labels), cfg_);
  }

  config cfg_;
};

}  // namespace vitals

#if defined(VITALS_HEADER_ONLY)
#include "vitals/instruments/detail/family_impl.hpp"
#endif
