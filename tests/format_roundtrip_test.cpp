// Tests for format/parse.hpp against both writers: the round trip
// parse(write(x)) == x over random snapshots and registries, in text 0.0.4
// and OpenMetrics (suite FormatParse, as before the split).
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "support/format.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
namespace fmt = vitals::format;

// --- parser: the round trip parse(write(x)) == x ------------------------------------

// Random snapshots that stress what the formats must carry: awkward label
// values and help texts, every kind of double, every type, timestamps.
class snapshot_generator {
 public:
  explicit snapshot_generator(std::uint64_t seed) : rng_(seed) {}

  metric_snapshot snapshot() {
    metric_snapshot s;
    const int families = uniform(0, 8);
    for (int i = 0; i < families; ++i) s.push_back(family());
    return s;
  }

 private:
  static constexpr metric_type types[] = {metric_type::counter,        metric_type::gauge,
                                          metric_type::histogram,      metric_type::summary,
                                          metric_type::info,           metric_type::stateset,
                                          metric_type::gaugehistogram, metric_type::unknown};

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }

  // Ends in the family number (or a unit), so no name ends in a suffix the
  // writers add and no two families' samples collide.
  std::string family_name(metric_type t) {
    static const std::string first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
    static const std::string rest = first + "0123456789";
    std::string n;
    // A stateset's name is also a label name: no ':' and no leading "__".
    n += t == metric_type::stateset ? 's' : first[static_cast<std::size_t>(uniform(0, 53))];
    for (int i = uniform(0, 10); i > 0; --i) {
      char c = rest[static_cast<std::size_t>(uniform(0, 63))];
      if (t == metric_type::stateset && c == ':') c = '_';
      n += c;
    }
    return n + "_" + std::to_string(next_family_++);
  }

  std::string label_name() {
    static const std::string first = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_";
    static const std::string rest = first + "0123456789";
    for (;;) {
      std::string n(1, first[static_cast<std::size_t>(uniform(0, 52))]);
      for (int i = uniform(0, 6); i > 0; --i) n += rest[static_cast<std::size_t>(uniform(0, 62))];
      if (!n.starts_with("__") && n != "le" && n != "quantile") return n;
    }
  }

  // Quotes, backslashes, newlines, blanks at either end, multi-byte UTF-8.
  std::string text() {
    static const char* pieces[] = {"a",
                                   "Z",
                                   "0",
                                   " ",
                                   "\t",
                                   "\"",
                                   "\\",
                                   "\n",
                                   "\\n",
                                   "\\\"",
                                   "{",
                                   "}",
                                   ",",
                                   "=",
                                   "#",
                                   "\r",
                                   "\xc3\xa9",
                                   "\xe6\x97\xa5\xe6\x9c\xac",
                                   "\xf0\x9f\x98\x80",
                                   "le",
                                   "# EOF",
                                   "} 1"};
    std::string s;
    for (int i = uniform(0, 8); i > 0; --i)
      s += pieces[uniform(0, static_cast<int>(std::size(pieces)) - 1)];
    return s;
  }

  double value() {
    switch (uniform(0, 11)) {
      case 0:
        return qnan;
      case 1:
        return inf;
      case 2:
        return -inf;
      case 3:
        return chance(0.5) ? 0.0 : -0.0;
      case 4:
        return uniform(-1000, 1000);
      case 5:
        return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng_), uniform(50, 1024));
      case 6:
        return std::ldexp(std::uniform_real_distribution<double>(-1, 1)(rng_),
                          uniform(-1074, -900));
      case 7:
        return chance(0.5) ? std::numeric_limits<double>::denorm_min()
                           : std::numeric_limits<double>::max();
      case 8:
        return uniform(-100000, 100000) / 1000.0;
      case 9:
        return static_cast<double>(uniform(999, 1001)) * 1e12 + uniform(-1, 1);  // near 1e15
      default:
        for (;;) {
          const double d = std::bit_cast<double>(rng_());
          if (std::isfinite(d)) return d;
        }
    }
  }
  double finite_value() {
    for (;;)
      if (const double d = value(); std::isfinite(d)) return d;
  }
  double count() {
    switch (uniform(0, 2)) {
      case 0:
        return uniform(0, 1000);
      case 1:
        return std::fabs(finite_value());
      default:
        return uniform(0, 1000000) / 8.0;
    }
  }

  metric_family family() {
    const metric_type t = types[uniform(0, static_cast<int>(std::size(types)) - 1)];
    metric_family f{family_name(t), t, chance(0.7) ? text() : "", "", {}};
    if (chance(0.3)) {
      static const char* units[] = {"seconds", "bytes", "ratio", "celsius"};
      f.unit = units[uniform(0, 3)];
      if (chance(0.7)) f.name += "_" + f.unit;  // else a unit the name does not carry
    }
    std::vector<std::string> names;
    for (int i = uniform(0, 3); i > 0; --i) {
      std::string n = label_name();
      if (n != f.name && std::find(names.begin(), names.end(), n) == names.end())
        names.push_back(n);
    }
    std::set<label_set> seen;
    for (int i = uniform(0, 5); i > 0; --i) {
      std::vector<label> labels;
      for (const auto& n : names)
        if (chance(0.8)) labels.push_back({n, text()});
      if (t == metric_type::stateset) labels.push_back({f.name, text()});
      auto l = label_set(std::move(labels));
      if (!seen.insert(l).second) continue;
      f.points.push_back(point(t, std::move(l)));
    }
    return f;
  }

  metric_point point(metric_type t, label_set labels) {
    metric_point p;
    p.labels = std::move(labels);
    if (chance(0.3))
      p.t = from_unix_ms(  // the parser takes 1970 to 2200 (core/time.hpp)
          std::uniform_int_distribution<std::int64_t>(min_unix_ms, max_unix_ms)(rng_));
    if (chance(0.5)) p.created = chance(0.5) ? finite_value() : 1.7e9 + uniform(0, 999999) / 1000.0;
    switch (t) {
      case metric_type::histogram:
      case metric_type::gaugehistogram: {
        std::vector<double> bounds;
        for (int i = uniform(0, 6); i > 0; --i) bounds.push_back(finite_value());
        std::sort(bounds.begin(), bounds.end());
        bounds.erase(std::unique(bounds.begin(), bounds.end()), bounds.end());
        if (chance(0.9)) bounds.push_back(inf);  // else the writer must add it
        double running = 0;
        for (double b : bounds) p.buckets.push_back({b, running += count()});
        p.count = p.buckets.empty() || chance(0.1) ? count() : running;
        p.sum = value();
        break;
      }
      case metric_type::summary:
        for (int i = uniform(0, 4); i > 0; --i)
          p.quantiles.push_back({chance(0.5) ? uniform(0, 100) / 100.0
                                             : std::uniform_real_distribution<double>(0, 1)(rng_),
                                 value()});
        p.count = count();
        p.sum = value();
        break;
      case metric_type::stateset:
        p.value = uniform(0, 1);
        break;
      default:
        p.value = value();
        break;
    }
    return p;
  }

  std::mt19937_64 rng_;
  int next_family_ = 0;
};

bool is_histogram(metric_type t) {
  return t == metric_type::histogram || t == metric_type::gaugehistogram;
}

void add_inf_bucket(metric_point& p) {
  if (p.buckets.empty() || p.buckets.back().le != inf) p.buckets.push_back({inf, p.count});
}

// What text 0.0.4 can carry: no units, no `_created`; the OpenMetrics-only
// types arrive as the writer maps them (see format/text.hpp).
metric_snapshot expected_after_text(metric_snapshot in) {
  metric_snapshot out;
  for (auto& f : in) {
    f.unit.clear();
    for (auto& p : f.points) {
      p.created.reset();
      if (is_histogram(f.type)) add_inf_bucket(p);
    }
    switch (f.type) {
      case metric_type::info:
        f.name += "_info";
        f.type = metric_type::gauge;
        for (auto& p : f.points) p.value = 1;
        out.push_back(f);
        break;
      case metric_type::stateset:
        f.type = metric_type::gauge;
        out.push_back(f);
        break;
      case metric_type::gaugehistogram: {
        metric_family gcount{f.name + "_gcount", metric_type::gauge, f.help, "", {}};
        metric_family gsum{f.name + "_gsum", metric_type::gauge, f.help, "", {}};
        for (auto& p : f.points) {
          auto& c = gcount.points.emplace_back();
          c.labels = p.labels;
          c.value = p.count;
          c.t = p.t;
          auto& s = gsum.points.emplace_back();
          s.labels = p.labels;
          s.value = p.sum;
          s.t = p.t;
          p.count = p.sum = 0;
        }
        f.type = metric_type::histogram;
        out.push_back(f);
        out.push_back(gcount);
        out.push_back(gsum);
        break;
      }
      default:
        out.push_back(f);
    }
  }
  return out;
}

// OpenMetrics carries everything but a unit the name does not end in, and
// `_created` only where the type has one and the option asks for it.
metric_snapshot expected_after_openmetrics(metric_snapshot s, bool created) {
  for (auto& f : s) {
    if (!fmt::detail::unit_fits(f.name, f.unit)) f.unit.clear();
    const bool has_created = f.type == metric_type::counter || f.type == metric_type::histogram ||
                             f.type == metric_type::summary;
    for (auto& p : f.points) {
      if (!created || !has_created) p.created.reset();
      if (is_histogram(f.type)) add_inf_bucket(p);
      if (f.type == metric_type::info) p.value = 1;
    }
  }
  return s;
}

TEST(FormatParse, RoundTripText) {
  snapshot_generator gen(20240601);
  for (int i = 0; i < 300; ++i) {
    const auto snap = gen.snapshot();
    const std::string body = fmt::to_text(snap);
    const auto r = fmt::parse_text(body);
    ASSERT_TRUE(r.ok()) << "iteration " << i << ", line " << r.errors[0].line << ": "
                        << r.errors[0].message << "\n"
                        << body;
    ASSERT_EQ(r.families, expected_after_text(snap)) << "iteration " << i << "\n" << body;
  }
}

TEST(FormatParse, RoundTripOpenMetrics) {
  snapshot_generator gen(19700101);
  for (int i = 0; i < 300; ++i) {
    const auto snap = gen.snapshot();
    const bool created = i % 2 == 0;
    const std::string body = fmt::to_openmetrics(snap, {.created = created});
    const auto r = fmt::parse_openmetrics(body);
    ASSERT_TRUE(r.ok()) << "iteration " << i << ", line " << r.errors[0].line << ": "
                        << r.errors[0].message << "\n"
                        << body;
    ASSERT_EQ(r.families, expected_after_openmetrics(snap, created)) << "iteration " << i << "\n"
                                                                     << body;
  }
}

TEST(FormatParse, RoundTripRegistries) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 50; ++i) {
    registry reg;
    auto& c = reg.counter_family("c_" + std::to_string(i), "Counter \\ \"help\"\n.", {"k", "v"});
    auto& g = reg.gauge_family("g_" + std::to_string(i), "", {"k"});
    auto& h = reg.histogram_family(
        "h_seconds", "Histogram.", {"k"},
        buckets::exponential(1e-3 * static_cast<double>(1 + rng() % 9), 2.5, 1 + rng() % 12));
    const char* values[] = {"",          "plain",        "q\"uote", "back\\slash",
                            "new\nline", "\xe2\x82\xac", "\\n"};
    for (int j = 0; j < 20; ++j) {
      const char* a = values[rng() % std::size(values)];
      const char* b = values[rng() % std::size(values)];
      c.with(a, b).inc(rng() % 1000);
      c.with(a, b).add(static_cast<double>(rng() % 1000) / 7);
      g.with(a).set(std::bit_cast<double>(rng()));
      h.with(b).observe(std::ldexp(static_cast<double>(rng() % 1000), -8));
    }
    const auto snap = reg.collect();
    EXPECT_EQ(fmt::parse_text(fmt::to_text(snap)).families, expected_after_text(snap));
    EXPECT_EQ(fmt::parse_openmetrics(fmt::to_openmetrics(snap, {.created = true})).families,
              expected_after_openmetrics(snap, true));
  }
}

}  // namespace
