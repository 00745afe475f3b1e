// The definitions behind detail::family_core (instruments/family.hpp):
// included by it in the header-only mode, compiled once into vitals::compiled
// otherwise.
#pragma once

#include <stdexcept>

#include "vitals/instruments/family.hpp"

namespace vitals::detail {

VITALS_DECL family_core::family_core(std::string name, std::string help,
                                     std::vector<std::string> label_names, metric_type type,
                                     std::size_t max_series, family_options opts, series_ops ops)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      type_(type),
      ops_(ops),
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

VITALS_DECL family_core::~family_core() {
  for (series_entry* e : live_) ops_.destroy(e);
  for (const auto& r : retired_) ops_.destroy(r.e);
  if (series_entry* o = overflow_.load()) ops_.destroy(o);
}

VITALS_DECL bool family_core::remove(std::span<const std::string_view> values) {
  const std::uint64_t h = detail::hash_values(values);
  std::lock_guard lock(mu_);
  table* t = table_.load(std::memory_order_relaxed);
  for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    auto& s = t->slots[i];
    const std::uint64_t sh = s.hash.load(std::memory_order_relaxed);
    if (sh == 0) return false;
    series_entry* e = s.e.load(std::memory_order_relaxed);
    if (sh == h && e != tombstone() && e->same(values)) {
      s.e.store(tombstone(), std::memory_order_release);
      std::erase(live_, e);
      ops_.destroy(e);
      return true;
    }
  }
}

VITALS_DECL std::size_t family_core::size() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

VITALS_DECL void family_core::collect(metric_snapshot& out) const {
  metric_family f{name_, type_, help_, {}, {}};
  std::lock_guard lock(mu_);
  f.points.reserve(live_.size() + 1);
  if (ttl_.count() > 0) {
    collect_expiring(f);
  } else {
    for (const series_entry* e : live_) {
      f.points.emplace_back().labels = e->labels;
      ops_.collect(*e, f.points.back());
    }
  }
  if (series_entry* o = overflow_.load(std::memory_order_acquire)) {
    f.points.emplace_back().labels = o->labels;
    ops_.collect(*o, f.points.back());
  }
  out.push_back(std::move(f));
}

namespace family_detail {
// What tells a collection that a series changed: its value, or for
// histograms and summaries its count and sum.
inline double fingerprint(const metric_point& p) noexcept { return p.value + p.count + p.sum; }

// Looked up, or its fingerprint differs from what the last collection saw.
inline bool touched(series_entry* e, double fp) noexcept {
  const bool same = fp == e->seen || (std::isnan(fp) && std::isnan(e->seen));
  return e->looked_up.exchange(false, std::memory_order_relaxed) || !same;
}
}  // namespace family_detail

// collect() of a ttl family: drops the series idle for the ttl, brings back
// retired ones written to since, frees retired ones nobody holds after a
// further ttl. Under mu_.
VITALS_DECL void family_core::collect_expiring(metric_family& f) const {
  using family_detail::fingerprint;
  using family_detail::touched;
  const timestamp t = vitals::now();
  const std::uint64_t this_collection = ++collections_;
  std::vector<series_entry*> keep;
  keep.reserve(live_.size());
  for (series_entry* e : live_) {
    metric_point p;
    ops_.collect(*e, p);
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
    ops_.collect(*r.e, p);
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
    ops_.destroy(r.e);
    return true;
  });
}

// Takes `e` out of the lookup table (readers skip its tombstone). Under mu_.
VITALS_DECL void family_core::unlink(series_entry* e) const {
  const std::vector<std::string_view> v(e->values.begin(), e->values.end());
  const std::uint64_t h = detail::hash_values(v);
  table* t = table_.load(std::memory_order_relaxed);
  for (std::size_t i = h & t->mask;; i = (i + 1) & t->mask) {
    auto& s = t->slots[i];
    const std::uint64_t sh = s.hash.load(std::memory_order_relaxed);
    if (sh == 0) return;
    if (sh == h && s.e.load(std::memory_order_relaxed) == e) {
      s.e.store(tombstone(), std::memory_order_release);
      return;
    }
  }
}

// Puts a retired `e` back in the table and the live list. Under mu_.
VITALS_DECL void family_core::relink(series_entry* e) const {
  const std::vector<std::string_view> v(e->values.begin(), e->values.end());
  table* t = table_.load(std::memory_order_relaxed);
  if ((t->used + 1) * 2 > t->mask + 1) t = rehash(t);
  place(t, detail::hash_values(v), e);
  live_.push_back(e);
}

VITALS_DECL series_entry& family_core::insert_slow(std::uint64_t h,
                                                   std::span<const std::string_view> values) {
  if (values.size() != label_names_.size())
    throw std::invalid_argument("family '" + name_ + "' has " +
                                std::to_string(label_names_.size()) + " labels, got " +
                                std::to_string(values.size()) + " values");
  std::lock_guard lock(mu_);
  table* t = table_.load(std::memory_order_relaxed);
  if (series_entry* e = find(t, h, values)) return *e;
  for (auto r = retired_.begin(); r != retired_.end(); ++r)
    if (r->e->same(values)) {  // expired, not yet freed: it comes back with its values
      series_entry* e = r->e;
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
  series_entry* e = make_series(values, label_set(std::move(l)));
  if ((t->used + 1) * 2 > t->mask + 1) t = rehash(t);
  place(t, h, e);
  live_.push_back(e);
  return *e;
}

VITALS_DECL void family_core::place(table* t, std::uint64_t h, series_entry* e) {
  std::size_t i = h & t->mask;
  while (t->slots[i].hash.load(std::memory_order_relaxed) != 0) i = (i + 1) & t->mask;
  t->slots[i].e.store(e, std::memory_order_relaxed);
  t->slots[i].hash.store(h, std::memory_order_release);  // publishes e
  ++t->used;
}

// Builds a larger table without tombstones. Readers still on the old table
// stay safe: old tables live until the family dies (at most 2x memory).
VITALS_DECL family_core::table* family_core::rehash(table* old) const {
  std::size_t cap = old->mask + 1;  // kept when tombstones filled it
  while ((live_.size() + 1) * 2 > cap) cap *= 2;
  auto* t = new table(cap);
  for (series_entry* e : live_) {
    const std::vector<std::string_view> v(e->values.begin(), e->values.end());
    place(t, detail::hash_values(v), e);
  }
  retired_tables_.emplace_back(t);
  table_.store(t, std::memory_order_release);
  return t;
}

VITALS_DECL series_entry& family_core::overflow_series() {
  overflowed_.fetch_add(1, std::memory_order_relaxed);
  series_entry* o = overflow_.load(std::memory_order_relaxed);
  if (!o) {
    o = make_series({}, label_set{label{"vitals_overflow", "true"}});
    overflow_.store(o, std::memory_order_release);
  }
  return *o;
}

}  // namespace vitals::detail
