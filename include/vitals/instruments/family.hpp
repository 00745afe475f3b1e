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
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

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

template <class Metric>
class family final : public collectable {
  struct entry;  // one series, below

 public:
  using config = typename Metric::config;

  family(std::string name, std::string help, std::vector<std::string> label_names, config cfg = {},
         std::size_t max_series = default_max_series, family_options opts = {})
      : name_(std::move(name)),
        help_(std::move(help)),
        label_names_(std::move(label_names)),
        cfg_(std::move(cfg)),
        max_series_(max_series),
        ttl_(opts.ttl) {
    if (ttl_.count() < 0) throw std::invalid_argument("family '" + name_ + "': negative ttl");
    if (auto s = check_metric_name(name_); !s) throw std::invalid_argument(s.error().message);
    for (std::size_t i = 0; i < label_names_.size(); ++i) {
      if (auto s = check_label_name(label_names_[i]); !s)
        throw std::invalid_argument(s.error().message);
      for (std::size_t j = 0; j < i; ++j)
        if (label_names_[i] == label_names_[j])
          throw std::invalid_argument("duplicate label name '" + label_names_[i] + "'");
    }
    table_.store(retired_tables_.emplace_back(std::make_unique<table>(16)).get());
  }

  family(const family&) = delete;
  family& operator=(const family&) = delete;

  ~family() override {
    for (entry* e : live_) delete e;
    for (const auto& r : retired_) delete r.e;
    delete overflow_.load();
  }

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
    explicit handle(entry* e) noexcept : e_(e) {
      e_->holds.fetch_add(1, std::memory_order_relaxed);
    }
    entry* e_;
  };

  /// with(), as a handle.
  template <class... V>
  requires(std::is_convertible_v<const V&, std::string_view>&&...) handle hold(const V&... values) {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return handle(&lookup(std::span<const std::string_view>(v)));
  }

  std::chrono::milliseconds ttl() const noexcept { return ttl_; }

  /// Series dropped for their ttl, and brought back after, since the family was made.
  std::uint64_t expired() const noexcept { return expired_.load(std::memory_order_relaxed); }
  std::uint64_t revived() const noexcept { return revived_.load(std::memory_order_relaxed); }

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

  Metric& with(std::span<const std::string_view> values) { return lookup(values).metric; }

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
    if (values.size() != label_names_.size()) return nullptr;
    const std::uint64_t h = detail::hash_values(values);
    entry* e = find(table_.load(std::memory_order_acquire), h, values);
    return e ? &e->metric : nullptr;
  }

  /// Removes a series; returns whether it existed. References to it become
  /// invalid: using one after (or during) removal is a race in the caller.
  template <class... V>
  bool remove(const V&... values) {
    const std::array<std::string_view, sizeof...(V)> v{std::string_view(values)...};
    return remove(std::span<const std::string_view>(v));
  }

  bool remove(std::span<const std::string_view> values) {
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

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return live_.size();
  }

  /// Lookups of new label values that went to the overflow series.
  std::uint64_t overflowed() const noexcept { return overflowed_.load(std::memory_order_relaxed); }

  void collect(metric_snapshot& out) const override {
    metric_family f{name_, Metric::type, help_, {}, {}};
    std::lock_guard lock(mu_);
    f.points.reserve(live_.size() + 1);
    if (ttl_.count() > 0) {
      collect_expiring(f);
    } else {
      for (const entry* e : live_) {
        f.points.emplace_back().labels = e->labels;
        e->metric.collect(f.points.back());
      }
    }
    if (entry* o = overflow_.load(std::memory_order_acquire)) {
      f.points.emplace_back().labels = o->labels;
      o->metric.collect(f.points.back());
    }
    out.push_back(std::move(f));
  }

 private:
  struct entry {
    entry(std::span<const std::string_view> v, label_set l, const config& c)
        : values(v.begin(), v.end()), labels(std::move(l)), metric(c), changed(vitals::now()) {}
    bool same(std::span<const std::string_view> v) const noexcept {
      if (v.size() != values.size()) return false;
      for (std::size_t i = 0; i < v.size(); ++i)
        if (v[i] != values[i]) return false;
      return true;
    }
    std::vector<std::string> values;
    label_set labels;
    Metric metric;
    // ttl families only. Set by with(); cleared by the collection that sees it.
    std::atomic<bool> looked_up{false};
    std::atomic<std::uint32_t> holds{0};  // handles out
    // Under the family's mutex: what the last collection saw, and when it last changed.
    double seen = std::nan("");
    timestamp changed;
  };

  struct retired_entry {
    entry* e;
    timestamp since;
    std::uint64_t collection;  // the one that retired it
  };

  entry& lookup(std::span<const std::string_view> values) {
    const std::uint64_t h = detail::hash_values(values);
    if (entry* e = find(table_.load(std::memory_order_acquire), h, values)) {
      // Read first: a series looked up often keeps its cache line shared.
      if (ttl_.count() > 0 && !e->looked_up.load(std::memory_order_relaxed))
        e->looked_up.store(true, std::memory_order_relaxed);
      return *e;
    }
    return insert_slow(h, values);
  }

  // What tells a collection that a series changed: its value, or for
  // histograms and summaries its count and sum.
  static double fingerprint(const metric_point& p) noexcept { return p.value + p.count + p.sum; }

  // collect() of a ttl family: drops the series idle for the ttl, brings
  // back retired ones written to since, frees retired ones nobody holds
  // after a further ttl. Under mu_.
  void collect_expiring(metric_family& f) const {
    const timestamp t = vitals::now();
    const std::uint64_t this_collection = ++collections_;
    auto touched = [](entry* e, double fp) {
      const bool same = fp == e->seen || (std::isnan(fp) && std::isnan(e->seen));
      return e->looked_up.exchange(false, std::memory_order_relaxed) || !same;
    };
    std::vector<entry*> keep;
    keep.reserve(live_.size());
    for (entry* e : live_) {
      metric_point p;
      e->metric.collect(p);
      const double fp = fingerprint(p);
      if (touched(e, fp)) {
        e->seen = fp;
        e->changed = t;
      } else if (t - e->changed >= ttl_) {
        unlink(e);
        retired_.push_back({e, t, this_collection});
        expired_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      p.labels = e->labels;
      f.points.push_back(std::move(p));
      keep.push_back(e);
    }
    live_ = std::move(keep);
    std::erase_if(retired_, [&](const retired_entry& r) {
      if (r.collection == this_collection) return false;  // retired just now
      metric_point p;
      r.e->metric.collect(p);
      const double fp = fingerprint(p);
      if (touched(r.e, fp)) {  // written through an old reference: back it comes
        r.e->seen = fp;
        r.e->changed = t;
        relink(r.e);
        revived_.fetch_add(1, std::memory_order_relaxed);
        p.labels = r.e->labels;
        f.points.push_back(std::move(p));
        return true;
      }
      if (t - r.since < ttl_ || r.e->holds.load(std::memory_order_acquire) > 0) return false;
      delete r.e;
      return true;
    });
  }

  // Takes `e` out of the lookup table (readers skip its tombstone). Under mu_.
  void unlink(entry* e) const {
    const std::vector<std::string_view> v(e->values.begin(), e->values.end());
    const std::uint64_t h = detail::hash_values(v);
    table* t = table_.load(std::memory_order_relaxed);
    for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
      auto& slot = t->slots[i];
      const std::uint64_t sh = slot.hash.load(std::memory_order_relaxed);
      if (sh == 0) return;
      if (sh == h && slot.e.load(std::memory_order_relaxed) == e) {
        slot.e.store(tombstone(), std::memory_order_release);
        return;
      }
    }
  }

  // Puts a retired `e` back in the table and the live list. Under mu_.
  void relink(entry* e) const {
    const std::vector<std::string_view> v(e->values.begin(), e->values.end());
    table* t = table_.load(std::memory_order_relaxed);
    if ((t->used + 1) * 2 > t->mask + 1) t = const_cast<family*>(this)->rehash(t);
    place(t, detail::hash_values(v), e);
    live_.push_back(e);
  }

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

  entry& insert_slow(std::uint64_t h, std::span<const std::string_view> values) {
    if (values.size() != label_names_.size())
      throw std::invalid_argument("family '" + name_ + "' has " +
                                  std::to_string(label_names_.size()) + " labels, got " +
                                  std::to_string(values.size()) + " values");
    std::lock_guard lock(mu_);
    table* t = table_.load(std::memory_order_relaxed);
    if (entry* e = find(t, h, values)) return *e;
    for (auto r = retired_.begin(); r != retired_.end(); ++r)
      if (r->e->same(values)) {  // expired, not yet freed: it comes back with its values
        entry* e = r->e;
        retired_.erase(r);
        e->changed = vitals::now();
        relink(e);
        revived_.fetch_add(1, std::memory_order_relaxed);
        return *e;
      }
    if (live_.size() >= max_series_) return overflow_series();
    std::vector<label> l;
    l.reserve(values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
      l.push_back({label_names_[i], std::string(values[i])});
    auto* e = new entry(values, label_set(std::move(l)), cfg_);
    if ((t->used + 1) * 2 > t->mask + 1) t = rehash(t);
    place(t, h, e);
    live_.push_back(e);
    return *e;
  }

  static void place(table* t, std::uint64_t h, entry* e) {
    std::size_t i = h & t->mask;
    while (t->slots[i].hash.load(std::memory_order_relaxed) != 0) i = (i + 1) & t->mask;
    t->slots[i].e.store(e, std::memory_order_relaxed);
    t->slots[i].hash.store(h, std::memory_order_release);  // publishes e
    ++t->used;
  }

  // Builds a larger table without tombstones. Readers still on the old table
  // stay safe: old tables live until the family dies (at most 2x memory).
  table* rehash(table* old) {
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

  entry& overflow_series() {
    overflowed_.fetch_add(1, std::memory_order_relaxed);
    entry* o = overflow_.load(std::memory_order_relaxed);
    if (!o) {
      o = new entry({}, label_set{label{"vitals_overflow", "true"}}, cfg_);
      overflow_.store(o, std::memory_order_release);
    }
    return *o;
  }

  std::string name_;
  std::string help_;
  std::vector<std::string> label_names_;
  config cfg_;
  std::size_t max_series_;
  std::chrono::milliseconds ttl_;

  // Collection expires series (ttl families), so what it changes is mutable.
  mutable std::mutex mu_;
  std::atomic<table*> table_{nullptr};
  mutable std::vector<std::unique_ptr<table>>
      retired_tables_;                          // owns every table, current included
  mutable std::vector<entry*> live_;            // insertion order, for collection
  mutable std::vector<retired_entry> retired_;  // expired, freed one ttl later unless held
  mutable std::atomic<std::uint64_t> expired_{0};
  mutable std::atomic<std::uint64_t> revived_{0};
  mutable std::uint64_t collections_ = 0;  // under mu_
  std::atomic<entry*> overflow_{nullptr};
  std::atomic<std::uint64_t> overflowed_{0};
};

}  // namespace vitals
