// A native (exponential) histogram: Prometheus' native histograms and
// OpenTelemetry's exponential histograms. No bucket layout to choose: with
// schema s, bucket i counts observations in (base^(i-1), base^i] for
// base = 2^(2^-s), so every bucket is about the same relative width
// (schema 3: 9%, schema 8: 0.27%) and a quantile read from it is off by less
// than that (core/quantile.hpp).
//
// Its cells are thread-owned, like the classic histogram's: an observation
// adds one to a bucket cell and its value to the sum cell of the calling
// thread's slot, with no lock and no shared cache line. The cells cover a
// window of `max_buckets` consecutive indices per sign (a *layout*). An
// observation outside the window takes a mutex and makes a new layout:
// shifted over the buckets in use, or at a lower schema (twice the bucket
// width) when they no longer fit. Old layouts stay, and collection adds them
// up at the newest schema, so a thread still writing through one loses
// nothing. Layouts are bounded: after 16, each new one halves the resolution,
// and schema -4 covers every double in one window.
//
// Collection also halves the resolution while a sign has more than
// `max_buckets` buckets in use. Schema -4 is the coarsest (base 65536); only
// there can a sign hold more than max_buckets (at most 134).
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "vitals/core/quantile.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/detail/cells.hpp"
#include "vitals/instruments/detail/stats.hpp"

namespace vitals {

namespace detail {

/// How an octave splits into buckets at schema 1..8 (n = 2^schema buckets):
/// their upper bounds as frexp fractions, 2^(k/n - 1) for k = 0..n (the last
/// is 1), and a guess per 1/(8n)-wide slice of [0.5, 1), the first bucket
/// that reaches the slice. Each slice is narrower than any bucket, so a
/// fraction's bucket is its slice's guess or the one after: one comparison
/// instead of a search. Made once.
struct native_octave {
  std::vector<double> bounds;        // n + 1
  std::vector<std::uint16_t> guess;  // 4n slices
};

inline const native_octave* native_octave_for(std::int32_t schema) {
  static const auto tables = [] {
    std::array<native_octave, 9> t;
    for (std::int32_t s = 1; s <= 8; ++s) {
      const std::size_t n = std::size_t{1} << s;
      auto& o = t[static_cast<std::size_t>(s)];
      o.bounds.resize(n + 1);
      for (std::size_t k = 0; k <= n; ++k)
        o.bounds[k] = std::exp2(static_cast<double>(k) / static_cast<double>(n) - 1);
      o.guess.resize(4 * n);
      std::size_t k = 0;
      for (std::size_t c = 0; c < 4 * n; ++c) {
        const double low = 0.5 + static_cast<double>(c) / static_cast<double>(8 * n);
        while (o.bounds[k] < low) ++k;
        o.guess[c] = static_cast<std::uint16_t>(k);
      }
    }
    return t;
  }();
  return &tables[static_cast<std::size_t>(schema)];
}

/// ceil(i / 2^d): the index at a schema `d` lower of the bucket that holds
/// bucket `i` (two buckets merge into one per step).
constexpr std::int32_t native_downscale(std::int32_t i, std::int32_t d) noexcept {
  return d <= 0 ? i
                : static_cast<std::int32_t>(
                      (static_cast<std::int64_t>(i) + (std::int64_t{1} << d) - 1) >> d);
}

/// The bucket index of a = frac * 2^exp (frac in [0.5, 1), frexp's split;
/// `mantissa` its 52 stored bits).
inline std::int32_t native_index(double frac, std::uint64_t mantissa, int exp, std::int32_t schema,
                                 const native_octave* octave) noexcept {
  if (schema > 0) {
    const std::uint16_t g = octave->guess[mantissa >> (52 - schema - 2)];
    const std::int32_t k = g + (octave->bounds[g] < frac ? 1 : 0);
    return k + (exp - 1) * (std::int32_t{1} << schema);
  }
  const std::int32_t key = exp - (mantissa == 0 ? 1 : 0);  // a power of two ends its bucket
  return native_downscale(key, -schema);
}

/// The index of |v| > 0 at `schema`, for any double (infinity counts as the
/// largest finite value, subnormals as themselves).
inline std::int32_t native_index(double a, std::int32_t schema) noexcept {
  if (!(a <= std::numeric_limits<double>::max())) a = std::numeric_limits<double>::max();
  int exp = 0;
  const double frac = std::frexp(a, &exp);
  const auto mantissa = std::bit_cast<std::uint64_t>(frac) & 0x000f'ffff'ffff'ffffULL;
  return native_index(frac, mantissa, exp, schema,
                      schema > 0 ? native_octave_for(schema) : nullptr);
}

}  // namespace detail

class exponential_histogram {
 public:
  static constexpr metric_type type = metric_type::histogram;

  static constexpr std::int32_t min_schema = -4, max_schema = 8;

  /// Shared by every series of a family.
  struct config {
    /// The finest resolution: base 2^(2^-schema), from -4 to 8. 3 (base
    /// 1.09) is client_golang's choice for a bucket factor of 1.1.
    std::int32_t schema = 3;
    /// Observations with |v| at most this count in the zero bucket. The
    /// default, 2^-128, is client_golang's: only values that are zero in
    /// practice.
    double zero_threshold = 0x1p-128;
    /// Buckets per sign before the resolution is halved; at least 2.
    std::size_t max_buckets = 160;

    /// Throws std::invalid_argument naming the field that is out of range.
    void check() const {
      if (schema < min_schema || schema > max_schema)
        throw std::invalid_argument("exponential histogram: schema must be from -4 to 8, got " +
                                    std::to_string(schema));
      if (!(zero_threshold >= 0) || !std::isfinite(zero_threshold))
        throw std::invalid_argument(
            "exponential histogram: zero_threshold must be finite and not negative");
      if (max_buckets < 2 || max_buckets > 4096)
        throw std::invalid_argument("exponential histogram: max_buckets must be from 2 to 4096");
    }
  };

  exponential_histogram() : exponential_histogram(config{}) {}
  explicit exponential_histogram(const config& c)
      : cfg_((c.check(), c)),
        width_(static_cast<std::int32_t>(std::max<std::size_t>(c.max_buckets, coarsest_span))),
        fixed_(2),
        created_(to_unix_seconds(now())) {
    // The first window centres both signs on 1 (index 0).
    layouts_.push_back(std::make_unique<layout>(cfg_.schema, -width_ / 2, -width_ / 2, width_));
    layout_.store(layouts_.back().get(), std::memory_order_release);
  }

  exponential_histogram(const exponential_histogram&) = delete;
  exponential_histogram& operator=(const exponential_histogram&) = delete;

  void observe(double v) noexcept {
    const double a = std::fabs(v);
    if (!(a > cfg_.zero_threshold)) [[unlikely]] {
      if (std::isnan(v)) {
        detail::instrument_stats::get().nan_observations.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      detail::add_u64(fixed_.id(), 1);
      detail::add_f64(fixed_.id() + 1, v);
      return;
    }
    const layout* l = layout_.load(std::memory_order_acquire);
    const std::uint64_t bits = std::bit_cast<std::uint64_t>(a);
    const int biased = static_cast<int>(bits >> 52);  // a is positive: no sign bit
    if (biased == 0 || biased == 2047) [[unlikely]]
      return observe_slow(v);  // subnormal or infinite
    // frexp by hand: a = frac * 2^exp with frac in [0.5, 1).
    const std::uint64_t mantissa = bits & 0x000f'ffff'ffff'ffffULL;
    const double frac = std::bit_cast<double>(mantissa | 0x3fe0'0000'0000'0000ULL);
    const std::int32_t i =
        detail::native_index(frac, mantissa, biased - 1022, l->schema, l->octave);
    const std::int32_t rel = i - (v > 0 ? l->pos_offset : l->neg_offset);
    if (static_cast<std::uint32_t>(rel) >= static_cast<std::uint32_t>(width_)) [[unlikely]]
      return observe_slow(v);
    detail::add_u64(l->cells.id() + static_cast<std::size_t>(rel) + (v > 0 ? 0 : width_), 1);
    detail::add_f64(fixed_.id() + 1, v);
  }

  /// Observes a duration in seconds.
  template <class Rep, class Period>
  void observe_duration(std::chrono::duration<Rep, Period> d) noexcept {
    observe(std::chrono::duration<double>(d).count());
  }

  const config& settings() const noexcept { return cfg_; }

  /// The buckets now: at the newest layout's schema, or lower while a sign
  /// has more than max_buckets in use.
  native_buckets buckets() const {
    native_buckets out;
    out.zero_threshold = cfg_.zero_threshold;
    out.sum = sum();
    std::uint64_t zero = 0;
    detail::sum_u64(fixed_.id(), 1, &zero);
    out.zero_count = zero;
    std::lock_guard lock(mu_);
    out.schema = layouts_.back()->schema;
    std::vector<std::uint64_t> raw(static_cast<std::size_t>(width_) * 2);
    for (const auto& l : layouts_) {
      detail::sum_u64(l->cells.id(), raw.size(), raw.data());
      const std::int32_t d = l->schema - out.schema;
      for (std::int32_t k = 0; k < width_; ++k) {
        if (raw[k])
          out.positive.push_back({detail::native_downscale(l->pos_offset + k, d), raw[k]});
        if (raw[width_ + k])
          out.negative.push_back({detail::native_downscale(l->neg_offset + k, d), raw[width_ + k]});
      }
    }
    merge(out.positive);
    merge(out.negative);
    while (out.schema > min_schema &&
           std::max(out.positive.size(), out.negative.size()) > cfg_.max_buckets)
      downscale(out, 1);
    return out;
  }

  double sum() const { return detail::sum_f64(fixed_.id() + 1); }
  std::uint64_t count() const { return total(buckets()); }

  /// See core/quantile.hpp for the error bound.
  double quantile(double q) const { return estimate_native_quantile(q, buckets()); }

  double created() const noexcept { return created_; }

  /// Layouts made so far (1 until observations leave the first window).
  std::size_t layouts() const {
    std::lock_guard lock(mu_);
    return layouts_.size();
  }

  void collect(metric_point& p) const {
    auto b = std::make_shared<native_buckets>(buckets());
    p.count = static_cast<double>(total(*b));
    p.sum = b->sum;
    p.buckets = {{INFINITY, p.count}};
    p.created = created_;
    p.native = std::move(b);
  }

  static std::uint64_t total(const native_buckets& b) noexcept {
    std::uint64_t n = b.zero_count;
    for (const auto& e : b.positive) n += e.count;
    for (const auto& e : b.negative) n += e.count;
    return n;
  }

  /// Halves the resolution `steps` times (never below schema -4).
  static void downscale(native_buckets& b, std::int32_t steps) {
    steps = std::min(steps, b.schema - min_schema);
    if (steps <= 0) return;
    b.schema -= steps;
    for (auto* side : {&b.positive, &b.negative}) {
      for (auto& e : *side) e.index = detail::native_downscale(e.index, steps);
      merge(*side);
    }
  }

 private:
  // Schema -4 spans every double in this many buckets per sign: indices -67
  // (2^-1074) to 64 (2^1024), with room to spare.
  static constexpr std::int32_t coarsest_span = 136;
  static constexpr std::int32_t coarsest_offset = -68;
  static constexpr std::size_t shifts_before_halving = 16;

  struct layout {
    layout(std::int32_t s, std::int32_t pos, std::int32_t neg, std::int32_t width)
        : schema(s),
          pos_offset(pos),
          neg_offset(neg),
          octave(s > 0 ? detail::native_octave_for(s) : nullptr),
          cells(static_cast<std::size_t>(width) * 2) {}
    std::int32_t schema;
    std::int32_t pos_offset;  // the index of the first positive cell
    std::int32_t neg_offset;
    const detail::native_octave* octave;
    detail::cell_range cells;  // [0, width) positive, [width, 2 width) negative
  };

  // Sorts by index and adds up the counts of equal indices.
  static void merge(std::vector<native_buckets::entry>& v) {
    std::sort(v.begin(), v.end(), [](const auto& x, const auto& y) { return x.index < y.index; });
    std::size_t out = 0;
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (out > 0 && v[out - 1].index == v[i].index)
        v[out - 1].count += v[i].count;
      else
        v[out++] = v[i];
    }
    v.resize(out);
  }

  // Outside the window (or subnormal, or infinite): under the mutex, counts
  // the observation in the newest layout, first making one that holds it.
  [[gnu::noinline]] void observe_slow(double v) noexcept {
    std::lock_guard lock(mu_);
    const std::int32_t i0 = detail::native_index(std::fabs(v), cfg_.schema);
    const layout* l = layouts_.back().get();
    std::int32_t rel = detail::native_downscale(i0, cfg_.schema - l->schema) -
                       (v > 0 ? l->pos_offset : l->neg_offset);
    if (rel < 0 || rel >= width_) {
      try {
        l = relayout(v > 0, i0);
      } catch (...) {  // out of memory or of cells: the observation is lost, and counted
        detail::instrument_stats::get().lost_observations.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      rel = detail::native_downscale(i0, cfg_.schema - l->schema) -
            (v > 0 ? l->pos_offset : l->neg_offset);
    }
    detail::add_u64(l->cells.id() + static_cast<std::size_t>(rel) + (v > 0 ? 0 : width_), 1);
    detail::add_f64(fixed_.id() + 1, v);
  }

  // A layout whose window for the sign holds `index` (at the configured
  // schema) beside the buckets in use. Under mu_.
  const layout* relayout(bool positive, std::int32_t index) {
    const layout& cur = *layouts_.back();
    // The sign's buckets in use, at the current schema, over every layout.
    std::int32_t lo = detail::native_downscale(index, cfg_.schema - cur.schema), hi = lo;
    std::vector<std::uint64_t> raw(static_cast<std::size_t>(width_));
    for (const auto& l : layouts_) {
      detail::sum_u64(l->cells.id() + (positive ? 0 : width_), raw.size(), raw.data());
      const std::int32_t off = positive ? l->pos_offset : l->neg_offset;
      for (std::int32_t k = 0; k < width_; ++k)
        if (raw[k]) {
          const std::int32_t at = detail::native_downscale(off + k, l->schema - cur.schema);
          lo = std::min(lo, at);
          hi = std::max(hi, at);
        }
    }
    std::int32_t steps = layouts_.size() >= shifts_before_halving ? 1 : 0;
    auto fits = [&](std::int32_t d) {
      return detail::native_downscale(hi, d) - detail::native_downscale(lo, d) < width_;
    };
    while (cur.schema - steps > min_schema && !fits(steps)) ++steps;
    steps = std::min(steps, cur.schema - min_schema);
    const std::int32_t schema = cur.schema - steps;
    auto centred = [&](std::int32_t a, std::int32_t b) {  // a window with [a, b] in its middle
      return schema == min_schema ? coarsest_offset : a - (width_ - (b - a + 1)) / 2;
    };
    const std::int32_t l_new = detail::native_downscale(lo, steps);
    const std::int32_t h_new = detail::native_downscale(hi, steps);
    // The other sign keeps its window's middle; at a lower schema its buckets
    // in use fill at most half of it.
    const std::int32_t other = positive ? cur.neg_offset : cur.pos_offset;
    const std::int32_t other_mid = detail::native_downscale(other + width_ / 2, steps);
    const std::int32_t other_new = steps == 0 ? other : centred(other_mid, other_mid);
    const std::int32_t mine = centred(l_new, h_new);
    layouts_.push_back(std::make_unique<layout>(schema, positive ? mine : other_new,
                                                positive ? other_new : mine, width_));
    layout_.store(layouts_.back().get(), std::memory_order_release);
    return layouts_.back().get();
  }

  config cfg_;
  std::int32_t width_;        // cells per sign in a layout
  detail::cell_range fixed_;  // [0] the zero bucket, [1] the sum
  double created_;
  mutable std::mutex mu_;  // layouts_ grows under it
  std::vector<std::unique_ptr<layout>> layouts_;
  std::atomic<const layout*> layout_{nullptr};  // the newest
};

}  // namespace vitals
