// Pieces shared by the text and OpenMetrics writers: escaping and sample
// lines, written straight into the caller's string. Nothing here allocates
// except that string growing.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/labels.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/core/time.hpp"
#include "vitals/format/detail/number.hpp"

namespace vitals::format::detail {

enum class dialect { text, openmetrics };

/// OpenMetrics requires a family with a unit to be named `..._<unit>`: a
/// writer leaves out a UNIT line that would break this, a parser refuses it.
inline bool unit_fits(std::string_view name, std::string_view unit) {
  if (unit.empty() || !is_valid_metric_name(unit) || name.size() <= unit.size()) return false;
  return name.ends_with(unit) && name[name.size() - unit.size() - 1] == '_';
}

/// Escapes backslash and newline, and the double quote when `quote` is set
/// (label values in both formats, HELP in OpenMetrics).
inline void append_escaped(std::string& out, std::string_view s, bool quote) {
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c != '\\' && c != '\n' && !(quote && c == '"')) continue;
    out.append(s.data() + run, i - run);
    out += '\\';
    out += c == '\n' ? 'n' : c;
    run = i + 1;
  }
  out.append(s.data() + run, s.size() - run);
}

/// A label the writer adds after the point's own (`le`, `quantile`); its
/// value is an already rendered number and needs no escaping.
struct extra_label {
  std::string_view name;
  std::string_view value;
};

/// Copies `s` to `p`. Names and label values are mostly short, and a call
/// to memcpy per piece would cost more than the copying: up to 16 bytes are
/// moved with two fixed-size (so inlined) copies that may overlap.
inline char* put(char* p, std::string_view s) noexcept {
  const char* src = s.data();
  const std::size_t n = s.size();
  if (n >= 8 && n <= 16) {
    std::memcpy(p, src, 8);
    std::memcpy(p + n - 8, src + n - 8, 8);
  } else if (n >= 4 && n < 8) {
    std::memcpy(p, src, 4);
    std::memcpy(p + n - 4, src + n - 4, 4);
  } else if (n < 4) {
    for (std::size_t i = 0; i < n; ++i) p[i] = src[i];
  } else {
    std::memcpy(p, src, n);
  }
  return p + n;
}

/// For each byte, the character after the backslash that escapes it in a
/// label value, or 0 when it is written as is.
inline constexpr auto label_escapes = [] {
  std::array<char, 256> t{};
  t['\\'] = '\\';
  t['"'] = '"';
  t['\n'] = 'n';
  return t;
}();

/// A label value, escaped; writes at most 2 * s.size() characters. A byte
/// loop with a table beats scanning for runs and copying them: values are
/// short, and the branch is almost never taken.
inline char* put_label_value(char* p, std::string_view s) noexcept {
  for (const char c : s) {
    const char e = label_escapes[static_cast<unsigned char>(c)];
    if (e != 0) [[unlikely]] {
      *p++ = '\\';
      *p++ = e;
    } else {
      *p++ = c;
    }
  }
  return p;
}

/// Writes `name<suffix>{labels` at `p`, without the closing brace, and
/// whether a label was written: the start every sample line shares.
inline char* write_head(char* p, std::string_view name, std::string_view suffix,
                        const label_set& labels, bool& any) noexcept {
  p = put(p, name);
  p = put(p, suffix);
  any = false;
  for (const auto& l : labels) {
    *p++ = any ? ',' : '{';
    any = true;
    p = put(p, l.name);
    *p++ = '=';
    *p++ = '"';
    p = put_label_value(p, l.value);
    *p++ = '"';
  }
  return p;
}

/// Writes ` value[ timestamp]\n` at `p`. The timestamp is integer
/// milliseconds in text 0.0.4 and seconds in OpenMetrics.
inline char* write_tail(char* p, dialect d, double value,
                        const std::optional<timestamp>& t) noexcept {
  *p++ = ' ';
  p = render_value(p, value);
  if (t) {
    *p++ = ' ';
    p = d == dialect::text ? render_int(p, to_unix_ms(*t))
                           : render_ms_as_seconds(p, to_unix_ms(*t));
  }
  *p++ = '\n';
  return p;
}

/// Writes `name<suffix>{labels} value[ timestamp]\n` at `p`, which has room
/// for sample_bound() characters.
inline char* write_sample(char* p, dialect d, std::string_view name, std::string_view suffix,
                          const label_set& labels, double value, const std::optional<timestamp>& t,
                          extra_label extra) noexcept {
  bool any = false;
  p = write_head(p, name, suffix, labels, any);
  if (!extra.name.empty()) {
    *p++ = any ? ',' : '{';
    any = true;
    p = put(p, extra.name);
    *p++ = '=';
    *p++ = '"';
    p = put(p, extra.value);
    *p++ = '"';
  }
  if (any) *p++ = '}';
  return write_tail(p, d, value, t);
}

/// The most characters write_sample() can write for these parts.
inline std::size_t sample_bound(std::string_view name, std::string_view suffix,
                                const label_set& labels, extra_label extra) noexcept {
  // braces, the extra label's `,=""`, two blanks, a newline; value and timestamp
  std::size_t n =
      name.size() + suffix.size() + extra.name.size() + extra.value.size() + 16 + 2 * number_chars;
  for (const auto& l : labels) n += l.name.size() + 2 * l.value.size() + 4;  // `,=""`, escapes
  return n;
}

/// One sample line: the exposition hot path, a line per series. The line is
/// assembled on the stack through a pointer and appended in one piece (one
/// capacity check instead of one per piece); a line too long for the stack
/// buffer is written in place after growing the string to its bound.
inline void append_sample(std::string& out, dialect d, std::string_view name,
                          std::string_view suffix, const label_set& labels, double value,
                          const std::optional<timestamp>& t, extra_label extra = {}) {
  constexpr std::size_t stack_line = 512;
  const std::size_t bound = sample_bound(name, suffix, labels, extra);
  if (bound <= stack_line) {
    char line[stack_line];
    const char* end = write_sample(line, d, name, suffix, labels, value, t, extra);
    out.append(line, static_cast<std::size_t>(end - line));
    return;
  }
  const std::size_t start = out.size();
  out.resize(start + bound);
  const char* end = write_sample(out.data() + start, d, name, suffix, labels, value, t, extra);
  out.resize(static_cast<std::size_t>(end - out.data()));
}

/// Appends ` # {labels} value timestamp` to the line just written (OpenMetrics
/// exemplars; text 0.0.4 has none, so callers write them in OpenMetrics only).
inline void append_exemplar(std::string& out, const exemplar& e) {
  if (!out.empty() && out.back() == '\n') out.pop_back();
  out += " # {";
  bool first = true;
  for (const auto& l : e.labels) {
    if (!first) out += ',';
    first = false;
    out += l.name;
    out += "=\"";
    append_escaped(out, l.value, true);
    out += '"';
  }
  out += "} ";
  char buf[number_chars];
  out.append(buf, render_value(buf, e.value));
  if (e.t && std::isfinite(*e.t) && std::fabs(*e.t) < 9e12) {
    out += ' ';
    out.append(buf, render_ms_as_seconds(buf, std::llround(*e.t * 1000)));
  }
  out += '\n';
}

/// `le` and `quantile` values: Go's shortest `%g` in text 0.0.4 (what the
/// Prometheus clients print), canonical numbers in OpenMetrics.
inline std::string_view render_bound(char (&buf)[number_chars], dialect d, double v) {
  char* end = d == dialect::text ? render_g(buf, v) : render_canonical(buf, v);
  return {buf, static_cast<std::size_t>(end - buf)};
}

/// The rendered `le` values of a histogram family. Its points almost always
/// share their bounds, so each bound is rendered once per family rather
/// than once per bucket line.
class bound_text {
 public:
  /// Renders the bounds of `buckets`, unless the last call had the same.
  void update(dialect d, const std::vector<bucket>& buckets) {
    if (d == dialect_ && buckets.size() == les_.size() &&
        std::equal(buckets.begin(), buckets.end(), les_.begin(),
                   [](const bucket& b, double le) { return b.le == le; }))
      return;
    dialect_ = d;
    les_.clear();
    ends_.clear();
    text_.clear();
    char buf[number_chars];
    for (const auto& b : buckets) {
      les_.push_back(b.le);
      text_ += render_bound(buf, d, b.le);
      ends_.push_back(text_.size());
    }
  }
  /// The rendered bound of bucket `i` of the last update().
  std::string_view operator[](std::size_t i) const {
    const std::size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(text_).substr(begin, ends_[i] - begin);
  }

 private:
  dialect dialect_ = dialect::text;
  std::vector<double> les_;
  std::vector<std::size_t> ends_;
  std::string text_;
};

/// The `_bucket` lines of one point. A point whose last bucket is not +Inf
/// gets one from `count`: no consumer accepts a histogram without it. The
/// lines share `name_bucket{labels,le="`, written once and copied.
inline void append_buckets(std::string& out, dialect d, std::string_view name,
                           const metric_point& p, bound_text& bounds) {
  bounds.update(d, p.buckets);
  const bool inf_last =
      !p.buckets.empty() && std::isinf(p.buckets.back().le) && p.buckets.back().le > 0;
  constexpr std::size_t stack_line = 512;
  if (sample_bound(name, "_bucket", p.labels, {"le", {}}) + number_chars > stack_line) {
    for (std::size_t i = 0; i < p.buckets.size(); ++i) {
      append_sample(out, d, name, "_bucket", p.labels, p.buckets[i].count, p.t, {"le", bounds[i]});
      if (d == dialect::openmetrics && p.buckets[i].exemplar)
        append_exemplar(out, *p.buckets[i].exemplar);
    }
    if (!inf_last) append_sample(out, d, name, "_bucket", p.labels, p.count, p.t, {"le", "+Inf"});
    return;
  }
  char line[stack_line];
  bool any = false;
  char* head = write_head(line, name, "_bucket", p.labels, any);
  head = put(head, any ? std::string_view(",le=\"") : std::string_view("{le=\""));
  auto append_line = [&](std::string_view le, double count) {
    char* q = put(head, le);
    *q++ = '"';
    *q++ = '}';
    q = write_tail(q, d, count, p.t);
    out.append(line, static_cast<std::size_t>(q - line));
  };
  for (std::size_t i = 0; i < p.buckets.size(); ++i) {
    append_line(bounds[i], p.buckets[i].count);
    if (d == dialect::openmetrics && p.buckets[i].exemplar)
      append_exemplar(out, *p.buckets[i].exemplar);
  }
  if (!inf_last) append_line("+Inf", p.count);
}

inline void append_quantiles(std::string& out, dialect d, std::string_view name,
                             const metric_point& p) {
  char buf[number_chars];
  for (const auto& q : p.quantiles)
    append_sample(out, d, name, "", p.labels, q.value, p.t,
                  {"quantile", render_bound(buf, d, q.q)});
}

/// A guess at the output size, so that the string grows about once. Label
/// sizes are measured on a few points per family and extrapolated: reading
/// every label set here would be a second pass over all of them.
inline std::size_t estimate_size(const metric_snapshot& snap) {
  constexpr std::size_t sampled_points = 8;
  constexpr std::size_t per_line = 40;  // suffix, value, timestamp, extra label
  std::size_t n = 16;
  for (const auto& f : snap) {
    n += 4 * f.name.size() + 2 * f.help.size() + f.unit.size() + 96;
    const std::size_t sampled = std::min(f.points.size(), sampled_points);
    if (sampled == 0) continue;
    std::size_t bytes = 0;
    for (std::size_t i = 0; i < sampled; ++i) {
      const metric_point& p = f.points[i];
      std::size_t labels = 2;
      for (const auto& l : p.labels) labels += l.name.size() + l.value.size() + 4;
      const std::size_t lines = 1 + (p.created ? 1 : 0) + p.buckets.size() + p.quantiles.size() +
                                (p.buckets.empty() && p.quantiles.empty() ? 0 : 3);
      bytes += lines * (f.name.size() + labels + per_line);
    }
    n += bytes / sampled * f.points.size() + bytes / sampled * f.points.size() / 8;
  }
  return n;
}

}  // namespace vitals::format::detail
