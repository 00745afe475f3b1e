// A family: one metric name, one set of label names, and a series per
// distinct tuple of label values. `with(values...)` returns a reference that
// stays valid until the series is removed, so hot code looks it up once.
//
// Lookups are lock-free (an open-addressing table of atomic slots); inserts
// and removals take a mutex. Past `max_series` distinct tuples, new tuples all
// share one overflow series labelled {vitals_overflow="true"}, and every such
// lookup is counted.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/labels.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/detail/hash.hpp"

namespace vitals {

inline constexpr std::size_t default_max_series = 2000;

namespace detail {

// What a family does that does not depend on its instrument type, out of the
// template: compiled once per translation unit (or program), not once per
// instrument type a registry can make.

/// A valid metric name and valid, distinct label names; throws otherwise.
inline void check_family(const std::string& name, const std::vector<std::string>& label_names) {
  if (auto s = check_metric_name(name); !s) throw std::invalid_argument(s.error().message);
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    if (auto s = check_label_name(label_names[i]); !s)
      throw std::invalid_argument(s.error().message);
    for (std::size_t j = 0; j < i; ++j)
      if (label_names[i] == label_names[j])
        throw std::invalid_argument("duplicate label name '" + label_names[i] + "'");
  }
}

[[noreturn]] inline void throw_arity(const std::string& name, std::size_t labels,
                                     std::size_t values) {
  throw std::invalid_argument("family '" + name + "' has " + std::to_string(labels) +
                              " labels, got " + std::to_string(values) + " values");
}

/// The label set of a new series: each label name with its value.
inline label_set series_labels(const std::vector<std::string>& names,
                               std::span<const std::string_view> values) {
  std::vector<label> l;
  l.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) l.push_back({names[i], std::string(values[i])});
  return label_set(std::move(l));
}

}  // namespace detail

/// The interface the registry collects through (not on the sample path).
class collectable {
 public:
  virtual ~collectable() = default;
  virtual void collect(metric_snapshot& out) const = 0;
};

template <class Metric>
class family final : public collectable {
 public:
  using config = typename Metric::config;

  family(std::string name, std::string help, std::vector<std::string> label_names, config cfg = {},
         std::size_t max_series = default_max_series);

  family(const family&) = delete;
  family& operator=(const family&) = delete;

  ~family() override;

  const std::string& name() const noexcept { return name_; }
  const std::string& help() const noexcept { return help_; }
  const std::vector<std::string>& label_names() const noexcept { return label_names_; }
  const config& metric_config() const noexcept { return cfg_; }

  /// The series for these label values (one per label name, in order).
  template <class... V>
  requires(std::is_convertible_v<const V&, std::string_view>&&...) Metric& with(
      const V&... values) {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return with(std::span<const std::string_view>(v));
  }

  Metric& with(std::span<const std::string_view> values) {
    const std::uint64_t h = detail::hash_values(values);
    if (entry* e = find(table_.load(std::memory_order_acquire), h, values)) return e->metric;
    return insert_slow(h, values);
  }

  /// Removes a series; returns whether it existed. References to it become
  /// invalid: using one after (or during) removal is a race in the caller.
  template <class... V>
  bool remove(const V&... values) {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return remove(std::span<const std::string_view>(v));
  }

  bool remove(std::span<const std::string_view> values);

  std::size_t size() const;

  /// Lookups of new label values that went to the overflow series.
  std::uint64_t overflowed() const noexcept { return overflowed_.load(std::memory_order_relaxed); }

  void collect(metric_snapshot& out) const override;

 private:
  struct entry {
    entry(std::span<const std::string_view> v, label_set l, const config& c)
        : values(v.begin(), v.end()), labels(std::move(l)), metric(c) {}
    bool same(std::span<const std::string_view> v) const noexcept {
      if (v.size() != values.size()) return false;
      for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i] != values[i]) return false;
      return true;
    }
    std::vector<std::string> values;
    label_set labels;
    Metric metric;
  };

  struct slot {
    std::atomic<std::uint64_t> hash{0};
    std::atomic<entry*> e{nullptr};
  };

  struct table {
    explicit table(std::size_t capacity) : mask(capacity - 1), slots(new slot[capacity]) {}
    std::size_t mask;
    std::unique_ptr<slot[]> slots;
    std::size_t used = 0;  // live + tombstones, under the mutex
  };

  static entry* tombstone() noexcept { return reinterpret_cast<entry*>(alignof(entry)); }

  static entry* find(const table* t, std::uint64_t h, std::span<const std::string_view> v) {
    for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
      const auto& s = t->slots[i];
      const std::uint64_t sh = s.hash.load(std::memory_order_acquire);
      if (sh == 0) return nullptr;
      if (sh == h) {
        entry* e = s.e.load(std::memory_order_acquire);
        if (e != tombstone() && e->same(v)) return e;
      }
    }
  }

  Metric& insert_slow(std::uint64_t h, std::span<const std::string_view> values);

  static void place(table* t, std::uint64_t h, entry* e);

  // Builds a larger table without tombstones. Readers still on the old table
  // stay safe: old tables live until the family dies (at most 2x memory).
  table* rehash(table* old);

  Metric& overflow_series();

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  config cfg_;
  std::size_t max_series_;

  mutable std::mutex mu_;
  std::atomic<table*> table_{nullptr};
  std::vector<std::unique_ptr<table>> retired_tables_;  // owns every table, current included
  std::vector<entry*> live_;                            // insertion order, for collection
  std::atomic<entry*> overflow_{nullptr};
  std::atomic<std::uint64_t> overflowed_{0};
};

// The members below are defined outside the class so that the compiled mode
// (instruments/registry.hpp declares family<counter>, family<gauge> and
// family<histogram> `extern template` there) compiles them once; with() and
// find(), the lookup path, stay in the class to be inlined.

template <class Metric>
family<Metric>::family(std::string name, std::string help, std::vector<std::string> label_names,
                       config cfg, std::size_t max_series)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      cfg_(std::move(cfg)),
      max_series_(max_series) {
  detail::check_family(name_, label_names_);
  table_.store(retired_tables_.emplace_back(std::make_unique<table>(16)).get());
}

template <class Metric>
family<Metric>::~family() {
  for (entry* e : live_) delete e;
  delete overflow_.load();
}

template <class Metric>
bool family<Metric>::remove(std::span<const std::string_view> values) {
  const std::uint64_t h = detail::hash_values(values);
  std::lock_guard lock(mu_);
  table* t = table_.load(std::memory_order_relaxed);
  for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    auto& s = t->slots[i];
    const std::uint64_t sh = s.hash.load(std::memory_order_relaxed);
    if (sh == 0) return false;
    entry* e = s.e.load(std::memory_order_relaxed);
    if (sh == h && e != tombstone() && e->same(values)) {
      s.e.store(tombstone(), std::memory_order_release);
      std::erase(live_, e);
      delete e;
      return true;
    }
  }
}

template <class Metric>
std::size_t family<Metric>::size() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

template <class Metric>
void family<Metric>::collect(metric_snapshot& out) const {
  metric_family f{name_, Metric::type, help_, {}, {}};
  std::lock_guard lock(mu_);
  f.points.reserve(live_.size() + 1);
  for (const entry* e : live_) {
    f.points.emplace_back().labels = e->labels;
    e->metric.collect(f.points.back());
  }
  if (entry* o = overflow_.load(std::memory_order_acquire)) {
    f.points.emplace_back().labels = o->labels;
    o->metric.collect(f.points.back());
  }
  out.push_back(std::move(f));
}

template <class Metric>
Metric& family<Metric>::insert_slow(std::uint64_t h, std::span<const std::string_view> values) {
  if (values.size() != label_names_.size())
    detail::throw_arity(name_, label_names_.size(), values.size());
  std::lock_guard lock(mu_);
  table* t = table_.load(std::memory_order_relaxed);
  if (entry* e = find(t, h, values)) return e->metric;
  if (live_.size() >= max_series_) return overflow_series();
  auto* e = new entry(values, detail::series_labels(label_names_, values), cfg_);
  if ((t->used + 1) * 2 > t->mask + 1) t = rehash(t);
  place(t, h, e);
  live_.push_back(e);
  return e->metric;
}

template <class Metric>
void family<Metric>::place(table* t, std::uint64_t h, entry* e) {
  std::size_t i = h & t->mask;
  while (t->slots[i].hash.load(std::memory_order_relaxed) != 0) i = (i + 1) & t->mask;
  t->slots[i].e.store(e, std::memory_order_relaxed);
  t->slots[i].hash.store(h, std::memory_order_release);  // publishes e
  ++t->used;
}

template <class Metric>
auto family<Metric>::rehash(table* old) -> table* {
  std::size_t cap = old->mask + 1;  // kept when tombstones filled it
  while ((live_.size() + 1) * 2 > cap) cap *= 2;
  auto* t = new table(cap);
  for (entry* e : live_) {
    std::vector<std::string_view> v(e->values.begin(), e->values.end());
    place(t, detail::hash_values(v), e);
  }
  retired_tables_.emplace_back(t);
  table_.store(t, std::memory_order_release);
  return t;
}

template <class Metric>
Metric& family<Metric>::overflow_series() {
  overflowed_.fetch_add(1, std::memory_order_relaxed);
  entry* o = overflow_.load(std::memory_order_relaxed);
  if (!o) {
    o = new entry({}, label_set{label{"vitals_overflow", "true"}}, cfg_);
    overflow_.store(o, std::memory_order_release);
  }
  return o->metric;
}

}  // namespace vitals
