// Range queries, answered the same way by every store: select series, read
// raw points, downsample at query time. A store may push an aggregation down
// (SQL GROUP BY) by offering `range_aggregated`; the answer must be the same.
//
// Step `auto` = max(window / target_points, min_step) (120 points, 10 s by
// default). Buckets start at `from` (or at multiples of the step since the
// epoch); empty buckets are omitted; a bucket's point carries its start time,
// except m4 and lttb, which return real samples.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/time.hpp"
#include "vitals/stores/latest.hpp"
#include "vitals/stores/selector.hpp"

namespace vitals::stores {

using duration = std::chrono::milliseconds;

enum class aggregation { mean, min, max, sum, count, last, m4, lttb, rate };

inline constexpr std::string_view aggregation_names[] = {"mean", "min", "max",  "sum", "count",
                                                         "last", "m4",  "lttb", "rate"};

constexpr std::string_view to_string(aggregation a) noexcept {
  return aggregation_names[static_cast<int>(a)];
}

inline result<aggregation> parse_aggregation(std::string_view s) {
  for (std::size_t i = 0; i < std::size(aggregation_names); ++i)
    if (aggregation_names[i] == s) return static_cast<aggregation>(i);
  return error(errc::invalid_argument,
               "unknown aggregation '" + std::string(s) +
                   "': expected mean, min, max, sum, count, last, m4, lttb or rate");
}

// parse_duration and max_duration live in core/time.hpp (flags and the HTTP
// API read durations too); the names stay usable here.
using vitals::max_duration;
using vitals::parse_duration;

/// The most buckets (points) one series may get from a range query, as
/// Prometheus limits a query to 11,000 points per series: a window and step
/// asking for more is refused before any work, so no query can hold a store
/// for long.
inline constexpr std::int64_t max_points_per_series = 11'000;

struct range_query {
  vitals::stores::selector selector{};
  timestamp from{};
  timestamp to{};
  std::optional<duration> step{};  // nullopt: auto
  aggregation agg = aggregation::mean;
  std::size_t target_points = 120;  // also the point count for lttb
  duration min_step = std::chrono::seconds(10);
  bool align_to_epoch = false;
};

/// The step a query runs with. Times are clamped to the accepted range
/// first, so the window cannot overflow whatever the query holds.
inline duration resolve_step(const range_query& q) {
  if (q.step) return *q.step;
  const auto window = clamp_time(q.to) - clamp_time(q.from);
  const auto n = static_cast<std::int64_t>(
      std::clamp<std::size_t>(q.target_points, 1, std::size_t(max_points_per_series)));
  return std::max(duration{window.count() / n}, q.min_step);
}

/// Where a query starts reading a series: one step before `from` for rate,
/// whose first delta needs the sample before the window; `from` otherwise.
/// `step` is the resolved one. Call it after check_range: the window and the
/// step are in range then, so the subtraction cannot overflow.
inline timestamp query_start(const range_query& q, duration step) {
  return q.agg == aggregation::rate ? q.from - step : q.from;
}
inline timestamp query_start(const range_query& q) { return query_start(q, resolve_step(q)); }

namespace detail {
inline std::int64_t bucket_start(std::int64_t t, std::int64_t origin, std::int64_t step);
}

/// Whether a query may run with `step`: both times in [min_time, max_time],
/// `to` not before `from`, a positive step, and at most
/// max_points_per_series buckets. The message starts with the parameter to
/// blame (`from:`, `to:`, `step:`), as the HTTP API names it. Every store
/// checks this itself, so no caller can make one loop for long.
inline status check_range(const range_query& q, duration step) {
  if (!in_time_range(q.from))
    return error(errc::invalid_argument, "from: outside the years 1970 to 2200");
  if (!in_time_range(q.to))
    return error(errc::invalid_argument, "to: outside the years 1970 to 2200");
  if (q.to < q.from) return error(errc::invalid_argument, "from: after 'to'");
  if (step.count() <= 0 || step > max_duration)
    return error(errc::invalid_argument, "step: must be positive and at most 84006d");
  if (q.target_points == 0 || q.target_points > std::size_t(max_points_per_series))
    return error(errc::invalid_argument,
                 "target_points: 1 to " + std::to_string(max_points_per_series));
  const std::int64_t from = to_unix_ms(q.from), st = step.count();
  const std::int64_t first = detail::bucket_start(from, q.align_to_epoch ? 0 : from, st);
  if ((to_unix_ms(q.to) - first) / st >= max_points_per_series)
    return error(errc::limit_exceeded, "step: more than " + std::to_string(max_points_per_series) +
                                           " points per series; use a larger step or a shorter "
                                           "window");
  return {};
}

inline status check_range(const range_query& q) {
  if (!q.step && q.min_step.count() <= 0)
    return error(errc::invalid_argument, "step: the minimum step must be positive");
  return check_range(q, resolve_step(q));
}

struct series_points {
  vitals::series series;
  std::vector<point> points;
};

namespace detail {

inline std::int64_t bucket_start(std::int64_t t, std::int64_t origin, std::int64_t step) {
  std::int64_t k = (t - origin) / step;
  if ((t - origin) % step < 0) --k;  // floor, also before the origin
  return origin + k * step;
}

/// Largest-Triangle-Three-Buckets (Steinarsson 2013): keeps the first and last
/// points and, per bucket, the point forming the largest triangle with the
/// previous pick and the next bucket's average.
inline std::vector<point> lttb(std::span<const point> in, std::size_t n) {
  if (n >= in.size() || n < 3) {
    if (n >= in.size()) return {in.begin(), in.end()};
    std::vector<point> out{in.front()};
    if (n == 2) out.push_back(in.back());
    return out;
  }
  std::vector<point> out;
  out.reserve(n);
  out.push_back(in.front());
  const double every = double(in.size() - 2) / double(n - 2);
  std::size_t a = 0;
  auto x = [&](std::size_t i) { return double(to_unix_ms(in[i].t)); };
  for (std::size_t b = 0; b < n - 2; ++b) {
    const std::size_t lo = static_cast<std::size_t>(std::floor(b * every)) + 1;
    const std::size_t hi =
        std::min(static_cast<std::size_t>(std::floor((b + 1) * every)) + 1, in.size() - 1);
    const std::size_t nlo = hi;
    const std::size_t nhi =
        std::min(static_cast<std::size_t>(std::floor((b + 2) * every)) + 1, in.size());
    double avg_x = 0, avg_y = 0;
    for (std::size_t i = nlo; i < nhi; ++i) avg_x += x(i), avg_y += in[i].value;
    const double cnt = double(std::max<std::size_t>(nhi - nlo, 1));
    avg_x /= cnt, avg_y /= cnt;
    double best = -1;
    std::size_t pick = lo;
    for (std::size_t i = lo; i < hi; ++i) {
      const double area = std::abs((x(a) - avg_x) * (in[i].value - in[a].value) -
                                   (x(a) - x(i)) * (avg_y - in[a].value));
      if (area > best) best = area, pick = i;
    }
    out.push_back(in[pick]);
    a = pick;
  }
  out.push_back(in.back());
  return out;
}

}  // namespace detail

namespace detail {

// Buckets points fed in time order, possibly in several spans (a ring's two
// halves, decoded chunks). Compiled once per aggregation so the loop does
// only the work that aggregation needs.
template <aggregation A>
class bucketizer {
 public:
  bucketizer(std::int64_t lo, std::int64_t hi, std::int64_t origin, std::int64_t step,
             std::vector<point>& out)
      : lo_(lo), hi_(hi), origin_(origin), step_(step), out_(out) {}

  void feed(std::span<const point> pts) {
    if constexpr (A == aggregation::rate) {
      feed_rate(pts);
    } else {
      // Whole buckets at a time: find where each ends by binary search, then
      // reduce that block in a tight loop with no per-point bucket checks.
      auto before = [](const point& p, std::int64_t t) { return to_unix_ms(p.t) < t; };
      std::size_t i = static_cast<std::size_t>(
          std::lower_bound(pts.begin(), pts.end(), lo_, before) - pts.begin());
      while (i < pts.size()) {
        const std::int64_t t = to_unix_ms(pts[i].t);
        if (t > hi_) break;
        if (t >= end_) {  // one division per bucket, not per point
          flush();
          start_ = bucket_start(t, origin_, step_);
          end_ = start_ + step_;
        }
        const std::int64_t stop = std::min(end_, hi_ + 1);
        const std::size_t j =
            static_cast<std::size_t>(std::lower_bound(pts.begin() + static_cast<std::ptrdiff_t>(i),
                                                      pts.end(), stop, before) -
                                     pts.begin());
        add_block(pts.subspan(i, j - i));
        i = j;
      }
    }
  }

  void finish() { flush(); }

 private:
  void add_block(std::span<const point> b) {
    if (n_ == 0) {
      first_ = pmin_ = pmax_ = b.front();
      min_ = max_ = b.front().value;
    }
    n_ += b.size();
    if constexpr (A == aggregation::mean || A == aggregation::sum) {
      double s[4] = {0, 0, 0, 0};  // four chains: the adds overlap
      std::size_t k = 0;
      for (; k + 4 <= b.size(); k += 4)
        for (int u = 0; u < 4; ++u) s[u] += b[k + static_cast<std::size_t>(u)].value;
      for (; k < b.size(); ++k) s[0] += b[k].value;
      sum_ += (s[0] + s[1]) + (s[2] + s[3]);
    }
    if constexpr (A == aggregation::min || A == aggregation::max || A == aggregation::m4) {
      double mn = min_, mx = max_;
      const point *pmn = nullptr, *pmx = nullptr;
      for (const point& p : b) {
        if (p.value < mn) mn = p.value, pmn = &p;
        if (p.value > mx) mx = p.value, pmx = &p;
      }
      min_ = mn, max_ = mx;
      if (pmn) pmin_ = *pmn;
      if (pmx) pmax_ = *pmx;
    }
    if constexpr (A == aggregation::last || A == aggregation::m4) last_ = b.back();
  }

  void feed_rate(std::span<const point> pts) {
    for (const point& p : pts) {
      const std::int64_t t = to_unix_ms(p.t);
      if (t > hi_) break;
      if (t >= lo_) {
        if (t >= end_) {
          flush();
          start_ = bucket_start(t, origin_, step_);
          end_ = start_ + step_;
        }
        ++n_;
        if (has_prev_) {
          // A drop means the counter restarted from zero: the increase is the new value.
          increase_ += p.value >= prev_.value ? p.value - prev_.value : p.value;
          seconds_ += double(t - to_unix_ms(prev_.t)) / 1000.0;
        }
      }
      prev_ = p, has_prev_ = true;
    }
  }

  void flush() {
    if (n_ == 0) return;
    const timestamp t = from_unix_ms(start_);
    if constexpr (A == aggregation::mean) out_.push_back({t, sum_ / double(n_)});
    if constexpr (A == aggregation::min) out_.push_back({t, min_});
    if constexpr (A == aggregation::max) out_.push_back({t, max_});
    if constexpr (A == aggregation::sum) out_.push_back({t, sum_});
    if constexpr (A == aggregation::count) out_.push_back({t, double(n_)});
    if constexpr (A == aggregation::last) out_.push_back({t, last_.value});
    if constexpr (A == aggregation::rate)
      if (seconds_ > 0) out_.push_back({t, increase_ / seconds_});
    if constexpr (A == aggregation::m4) {
      point pts[4] = {first_, pmin_, pmax_, last_};
      std::sort(pts, pts + 4, [](const point& x, const point& y) { return x.t < y.t; });
      for (const auto& p : pts)
        if (out_.empty() || out_.back().t != p.t || out_.back().value != p.value) out_.push_back(p);
    }
    n_ = 0, sum_ = 0, increase_ = 0, seconds_ = 0;
  }

  std::int64_t lo_, hi_, origin_, step_;
  std::vector<point>& out_;
  std::int64_t start_ = 0, end_ = std::numeric_limits<std::int64_t>::min();
  std::size_t n_ = 0;
  double sum_ = 0, min_ = 0, max_ = 0, increase_ = 0, seconds_ = 0;
  point first_{}, last_{}, pmin_{}, pmax_{}, prev_{};
  bool has_prev_ = false;
};

}  // namespace detail

/// Runs a bucketing aggregation (every one but lttb) over points that
/// `source(feed)` hands over in time order, in one or more spans.
template <class Source>
std::vector<point> downsample_from(Source&& source, const range_query& q) {
  std::vector<point> out;
  if (!check_range(q)) return out;  // query_range reports why; a library call gets nothing
  const std::int64_t step = resolve_step(q).count();
  const std::int64_t origin = q.align_to_epoch ? 0 : to_unix_ms(q.from);
  const std::int64_t lo = to_unix_ms(q.from), hi = to_unix_ms(q.to);
  auto run = [&]<aggregation A>() {
    detail::bucketizer<A> b(lo, hi, origin, step, out);
    source([&](std::span<const point> pts) { b.feed(pts); });
    b.finish();
  };
  switch (q.agg) {
    case aggregation::mean:
      run.template operator()<aggregation::mean>();
      break;
    case aggregation::min:
      run.template operator()<aggregation::min>();
      break;
    case aggregation::max:
      run.template operator()<aggregation::max>();
      break;
    case aggregation::sum:
      run.template operator()<aggregation::sum>();
      break;
    case aggregation::count:
      run.template operator()<aggregation::count>();
      break;
    case aggregation::last:
      run.template operator()<aggregation::last>();
      break;
    case aggregation::m4:
      run.template operator()<aggregation::m4>();
      break;
    case aggregation::rate:
      run.template operator()<aggregation::rate>();
      break;
    case aggregation::lttb:
      break;  // needs every point at once: see downsample()
  }
  return out;
}

/// Downsamples time-ordered raw points of one series. For `rate`, the raw
/// points may start before `from`: the delta into the first bucket needs the
/// sample before it.
inline std::vector<point> downsample(std::span<const point> raw, const range_query& q) {
  if (q.agg == aggregation::lttb) {
    if (!check_range(q)) return {};
    auto first = std::lower_bound(raw.begin(), raw.end(), q.from,
                                  [](const point& p, timestamp t) { return p.t < t; });
    auto last = std::upper_bound(first, raw.end(), q.to,
                                 [](timestamp t, const point& p) { return t < p.t; });
    return detail::lttb({first, last}, q.target_points);
  }
  return downsample_from([&](auto&& feed) { feed(raw); }, q);
}

// aggregating_store and downsampling_store (core/storage.hpp) are asked for
// with this file's range_query: `aggregating_store<S, range_query>`.

inline bool pushes_down(aggregation a) noexcept {
  return a != aggregation::m4 && a != aggregation::lttb && a != aggregation::rate;
}

/// What a store that aggregates in SQL checks before it builds a query: the
/// aggregation is one SQL computes, and the window and step are in range.
inline status check_pushdown(const range_query& q, duration step) {
  if (!pushes_down(q.agg))
    return error(errc::invalid_argument, "aggregation '" + std::string(to_string(q.agg)) +
                                             "' is computed by downsample(), not in SQL");
  return check_range(q, step);
}

/// Runs a range query on any store.
template <store S>
result<std::vector<series_points>> query_range(S& s, const range_query& q) {
  if (auto st = check_range(q); !st) return st.error();
  std::vector<series_points> out;
  const duration step = resolve_step(q);
  for (auto& id : s.list_series()) {
    if (!q.selector.matches(id)) continue;
    std::vector<point> pts;
    bool pushed = false;
    if constexpr (aggregating_store<S, range_query>) {
      if (pushes_down(q.agg)) {
        auto r = s.range_aggregated(id, q, step);
        if (!r) return r.error();
        pts = std::move(*r);
        pushed = true;
      }
    }
    if constexpr (downsampling_store<S, range_query>) {
      if (!pushed && q.agg != aggregation::lttb) {
        pts = s.downsample(id, q);
        pushed = true;
      }
    }
    if (!pushed) {
      auto raw = s.range(id, query_start(q, step), q.to);
      pts = downsample(raw, q);
    }
    if (!pts.empty()) out.push_back({std::move(id), std::move(pts)});
  }
  return out;
}

/// The latest point of every series matching `sel`, ordered by series.
template <store S>
std::vector<std::pair<series, point>> query_latest(S& s, const selector& sel) {
  std::vector<std::pair<series, point>> out;
  if constexpr (latest_all_store<S>) {
    out = s.latest_all();
    std::erase_if(out, [&](const auto& e) { return !sel.matches(e.first); });
  } else {
    for (auto& id : s.list_series())
      if (sel.matches(id))
        if (auto p = s.latest(id)) out.emplace_back(std::move(id), *p);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

}  // namespace vitals::stores
