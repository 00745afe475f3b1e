// Reading one line of an exposition: comments, metric names, label sets,
// values, timestamps and (OpenMetrics) exemplars. Readers return an error
// message or nothing; none throws on bad input, and every step consumes
// input, so a line is read in one pass.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/labels.hpp"
#include "vitals/core/time.hpp"
#include "vitals/format/detail/exposition.hpp"
#include "vitals/format/detail/number.hpp"
#include "vitals/format/detail/strings.hpp"

namespace vitals::format::detail {

/// Nothing when the step succeeded, else what was wrong, for a person.
using line_error = std::optional<std::string>;

/// Undoes the writers' escaping: `\\`, `\"` and `\n`. Any other escape, or
/// a trailing backslash, is an error. (Text 0.0.4 never writes `\"` in HELP,
/// but reading it there is unambiguous.)
inline line_error unescape(std::string_view s, std::string& out) {
  out.clear();
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\') {
      out += s[i];
      continue;
    }
    if (++i == s.size()) return "a backslash ends the text";
    if (s[i] == '\\' || s[i] == '"')
      out += s[i];
    else if (s[i] == 'n')
      out += '\n';
    else
      return "invalid escape sequence '\\" + std::string(1, s[i]) + "'";
  }
  return {};
}

class line_reader {
 public:
  explicit line_reader(std::string_view s) noexcept : s_(s) {}

  bool at_end() const noexcept { return i_ >= s_.size(); }
  char peek() const noexcept { return at_end() ? '\0' : s_[i_]; }
  std::string_view rest() const noexcept { return s_.substr(i_); }

  void advance(std::size_t n) noexcept { i_ = std::min(i_ + n, s_.size()); }
  bool consume(char c) noexcept {
    if (at_end() || s_[i_] != c) return false;
    ++i_;
    return true;
  }
  /// Whether any blank was skipped.
  bool skip_blanks() noexcept {
    const std::size_t start = i_;
    while (!at_end() && is_blank(s_[i_])) ++i_;
    return i_ != start;
  }
  template <class Pred>
  std::string_view read_while(Pred pred) noexcept {
    const std::size_t start = i_;
    while (!at_end() && pred(s_[i_])) ++i_;
    return s_.substr(start, i_ - start);
  }
  std::string_view read_token() noexcept {
    return read_while([](char c) { return !is_blank(c); });
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

inline std::string_view read_metric_name(line_reader& r) noexcept {
  return r.read_while([](char c) { return vitals::detail::is_name_char(c) || c == ':'; });
}

/// A quoted label value, the opening quote already consumed.
inline line_error read_label_value(line_reader& r, std::string_view label_name, std::string& out) {
  const std::string_view rest = r.rest();
  std::size_t i = 0;
  while (i < rest.size() && rest[i] != '"') i += rest[i] == '\\' ? 2 : 1;
  if (i >= rest.size()) return "unterminated value of label " + excerpt(label_name);
  if (auto e = unescape(rest.substr(0, i), out))
    return *e + " in the value of label " + excerpt(label_name);
  r.advance(i + 1);
  return {};
}

/// `{name="value",...}` with an optional trailing comma; blanks between the
/// parts are tolerated (the text format allows them). Names are checked when
/// the label set is built.
inline line_error read_labels(line_reader& r, std::vector<label>& out) {
  if (!r.consume('{')) return "expected '{'";
  for (;;) {
    r.skip_blanks();
    if (r.consume('}')) return {};
    const std::string_view name = r.read_while(vitals::detail::is_name_char);
    if (name.empty()) return "expected a label name or '}' before " + excerpt(r.rest());
    r.skip_blanks();
    if (!r.consume('=')) return "expected '=' after label name " + excerpt(name);
    r.skip_blanks();
    if (!r.consume('"')) return "expected '\"' to open the value of label " + excerpt(name);
    std::string value;
    if (auto e = read_label_value(r, name, value)) return e;
    out.push_back({std::string(name), std::move(value)});
    r.skip_blanks();
    if (r.consume('}')) return {};
    if (!r.consume(',')) return "expected ',' or '}' after the value of label " + excerpt(name);
  }
}

/// A sample line split into its parts; `name` views the input line.
struct sample_line {
  std::string_view name;
  std::vector<label> labels;
  double value = 0;
  std::optional<timestamp> t;
  std::optional<vitals::exemplar> exemplar;  // OpenMetrics only
};

inline line_error read_timestamp(std::string_view token, dialect d, std::optional<timestamp>& t) {
  const auto ms = d == dialect::text ? parse_int64(token) : parse_seconds_as_ms(token);
  if (!ms)
    return "invalid timestamp " + excerpt(token) +
           (d == dialect::text ? " (expected integer milliseconds)" : " (expected seconds)");
  t = checked_from_unix_ms(*ms);
  if (!t) return "timestamp " + excerpt(token) + " out of range (years 1970 to 2200)";
  return {};
}

/// ` # {labels} value [timestamp]` after an OpenMetrics sample: its labels
/// (at most 128 characters, names and values together, as the spec says),
/// value and time.
inline line_error read_exemplar(line_reader& r, std::optional<vitals::exemplar>& out) {
  r.consume('#');
  r.skip_blanks();
  std::vector<label> labels;
  if (auto e = read_labels(r, labels)) return "in exemplar: " + *e;
  std::size_t chars = 0;
  for (const auto& l : labels) chars += l.name.size() + l.value.size();
  if (chars > 128) return "exemplar labels longer than 128 characters";
  auto set = label_set::make(std::move(labels));
  if (!set) return "in exemplar: " + set.error().message;
  r.skip_blanks();
  const std::string_view value = r.read_token();
  const auto v = parse_double(value);
  if (!v) return "invalid exemplar value " + excerpt(value);
  vitals::exemplar e{std::move(*set), *v, std::nullopt};
  r.skip_blanks();
  if (!r.at_end()) {
    const std::string_view ts = r.read_token();
    const auto ms = parse_seconds_as_ms(ts);
    if (!ms) return "invalid exemplar timestamp " + excerpt(ts);
    e.t = double(*ms) / 1000;
  }
  out = std::move(e);
  return {};
}

/// `name{labels} value [timestamp]` (and an exemplar in OpenMetrics).
inline line_error read_sample(std::string_view line, dialect d, sample_line& out) {
  line_reader r(line);
  out.name = read_metric_name(r);
  if (out.name.empty()) return "expected a metric name at the start of the line";
  if (!is_valid_metric_name(out.name)) return "invalid metric name " + excerpt(out.name);
  bool separated = r.skip_blanks();
  if (r.peek() == '{') {
    if (auto e = read_labels(r, out.labels)) return e;
    separated = r.skip_blanks();
  }
  if (!separated) {
    if (r.at_end()) return "missing value after " + excerpt(line);
    return "unexpected " + excerpt(r.rest()) + " after the metric name";
  }
  const std::string_view value = r.read_token();
  const auto v = parse_double(value);
  if (!v) return "invalid value " + excerpt(value);
  out.value = *v;
  r.skip_blanks();
  if (!r.at_end() && r.peek() != '#') {
    if (auto e = read_timestamp(r.read_token(), d, out.t)) return e;
    r.skip_blanks();
  }
  if (d == dialect::openmetrics && r.peek() == '#')
    if (auto e = read_exemplar(r, out.exemplar)) return e;
  if (!r.at_end()) return "unexpected " + excerpt(r.rest()) + " after the value";
  return {};
}

/// A `#` line: HELP, TYPE, UNIT (OpenMetrics), EOF (OpenMetrics), or any
/// other comment.
struct comment_line {
  enum class kind { help, type, unit, eof, other };
  kind what = kind::other;
  std::string_view name;
  std::string_view text;  // raw: HELP still escaped
};

inline comment_line read_comment(std::string_view line, dialect d) {
  comment_line c;
  if (d == dialect::openmetrics && line == "# EOF") {
    c.what = comment_line::kind::eof;
    return c;
  }
  line_reader r(line);
  r.consume('#');
  r.skip_blanks();
  const std::string_view keyword = r.read_token();
  if (keyword == "HELP")
    c.what = comment_line::kind::help;
  else if (keyword == "TYPE")
    c.what = comment_line::kind::type;
  else if (keyword == "UNIT" && d == dialect::openmetrics)
    c.what = comment_line::kind::unit;
  else
    return c;
  r.skip_blanks();
  c.name = r.read_token();
  // Exactly one blank separates the name from the text: help text may
  // itself begin with a blank.
  if (is_blank(r.peek())) c.text = r.rest().substr(1);
  if (c.what != comment_line::kind::help) c.text = trim_blanks(c.text);
  return c;
}

}  // namespace vitals::format::detail
