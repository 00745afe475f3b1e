// Series selection as in PromQL: `name{k="v",k2!="x",k3=~"re.*",k4!~"re"}`.
// Regular expressions use RE2 syntax and run in linear time (RE2, as in
// Prometheus), fully anchored, `.` matching newlines too. A selector is
// hostile input: its length, the number of matchers, names, values and
// regexes are bounded, and each RE2 program's memory is capped. Parse errors
// name the 0-based byte position and what was expected there.
// Link: vitals::selector (RE2).
#pragma once

#include <re2/re2.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/series.hpp"

namespace vitals::stores {

enum class match_op { equal, not_equal, regex, not_regex };

/// What a selector may hold: parse() refuses anything larger.
struct selector_limits {
  static constexpr std::size_t max_text = 16 * 1024;  // the whole selector, bytes
  static constexpr std::size_t max_matchers = 32;
  static constexpr std::size_t max_name = 256;           // a metric or label name, bytes
  static constexpr std::size_t max_value = 4 * 1024;     // a value or regex, bytes
  static constexpr std::int64_t regex_memory = 1 << 20;  // RE2's max_mem per regex
};

class matcher {
 public:
  /// Throws std::invalid_argument for a regex RE2 refuses (selector::parse
  /// reports it as a value instead).
  matcher(std::string label, match_op op, std::string value)
      : label_(std::move(label)), op_(op), value_(std::move(value)) {
    if (op_ == match_op::regex || op_ == match_op::not_regex) {
      auto re = compile(value_);
      if (!re->ok()) throw std::invalid_argument(re->error());
      re_ = std::move(re);
    }
  }

  /// The RE2 program for `pattern`, anchored at both ends as Prometheus does;
  /// check ok() / error() on the result.
  static std::shared_ptr<const re2::RE2> compile(std::string_view pattern) {
    re2::RE2::Options o;
    o.set_log_errors(false);  // a bad regex from a client is not a log line
    o.set_max_mem(selector_limits::regex_memory);
    o.set_dot_nl(true);
    std::string anchored = "^(?:";
    anchored.append(pattern);
    anchored += ")$";
    return std::make_shared<const re2::RE2>(anchored, o);
  }

  const std::string& label() const noexcept { return label_; }
  match_op op() const noexcept { return op_; }
  const std::string& value() const noexcept { return value_; }

  /// An absent label matches as the empty string, as in Prometheus.
  bool matches(std::string_view v) const {
    switch (op_) {
      case match_op::equal:
        return v == value_;
      case match_op::not_equal:
        return v != value_;
      case match_op::regex:
        return re2::RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
      case match_op::not_regex:
        return !re2::RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *re_);
    }
    return false;
  }

 private:
  std::string label_;
  match_op op_;
  std::string value_;
  std::shared_ptr<const re2::RE2> re_;
};

class selector {
 public:
  selector() = default;
  explicit selector(std::vector<matcher> m) : matchers_(std::move(m)) {}

  /// Everything with this metric name.
  static selector by_name(std::string name) {
    return selector({matcher("__name__", match_op::equal, std::move(name))});
  }

  static result<selector> parse(std::string_view text);

  bool matches(const series& s) const {
    for (const auto& m : matchers_) {
      const std::string_view v =
          m.label() == "__name__" ? std::string_view(s.name()) : s.labels().get(m.label());
      if (!m.matches(v)) return false;
    }
    return true;
  }

  const std::vector<matcher>& matchers() const noexcept { return matchers_; }

  /// The metric name when the selector pins one exactly (lets stores index by name).
  std::string_view exact_name() const noexcept {
    for (const auto& m : matchers_)
      if (m.label() == "__name__" && m.op() == match_op::equal) return m.value();
    return {};
  }

 private:
  std::vector<matcher> matchers_;
};

namespace detail {

class selector_parser {
 public:
  explicit selector_parser(std::string_view s) : s_(s) {}

  result<selector> run() {
    if (s_.size() > selector_limits::max_text)
      return error(errc::parse_error,
                   "selector longer than " + std::to_string(selector_limits::max_text) + " bytes");
    std::vector<matcher> out;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] != '{') {
      const std::size_t start = pos_;
      while (pos_ < s_.size() && (vitals::detail::is_name_char(s_[pos_]) || s_[pos_] == ':'))
        ++pos_;
      std::string name(s_.substr(start, pos_ - start));
      if (name.size() > selector_limits::max_name)
        return fail(start, "a metric name of at most " + std::to_string(selector_limits::max_name) +
                               " bytes");
      if (!is_valid_metric_name(name)) return fail(start, "a metric name");
      out.emplace_back("__name__", match_op::equal, std::move(name));
      skip_ws();
    }
    if (pos_ < s_.size() && s_[pos_] == '{') {
      ++pos_;
      skip_ws();
      while (pos_ < s_.size() && s_[pos_] != '}') {
        if (out.size() >= selector_limits::max_matchers)
          return fail(pos_, "'}': a selector has at most " +
                                std::to_string(selector_limits::max_matchers) + " matchers");
        auto m = parse_matcher();
        if (!m) return m.error();
        out.push_back(std::move(*m));
        skip_ws();
        if (pos_ < s_.size() && s_[pos_] == ',') {
          ++pos_;
          skip_ws();
        } else if (pos_ < s_.size() && s_[pos_] != '}') {
          return fail(pos_, "',' or '}'");
        }
      }
      if (pos_ >= s_.size()) return fail(pos_, "'}'");
      ++pos_;
      skip_ws();
    }
    if (pos_ != s_.size()) return fail(pos_, "the end of the selector");
    if (out.empty()) return fail(0, "a metric name or '{'");
    bool any_non_empty = false;
    for (const auto& m : out) any_non_empty |= !m.matches("");
    if (!any_non_empty)
      return error(errc::parse_error,
                   "selector must contain at least one matcher that does not "
                   "match the empty string");
    return selector(std::move(out));
  }

 private:
  result<matcher> parse_matcher() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && vitals::detail::is_name_char(s_[pos_])) ++pos_;
    std::string label(s_.substr(start, pos_ - start));
    if (label.size() > selector_limits::max_name)
      return fail(
          start, "a label name of at most " + std::to_string(selector_limits::max_name) + " bytes");
    if (label.empty() || (label != "__name__" && !is_valid_label_name(label)))
      return fail(start, "a label name");
    skip_ws();
    match_op op;
    if (s_.substr(pos_, 2) == "!=") {
      op = match_op::not_equal, pos_ += 2;
    } else if (s_.substr(pos_, 2) == "=~") {
      op = match_op::regex, pos_ += 2;
    } else if (s_.substr(pos_, 2) == "!~") {
      op = match_op::not_regex, pos_ += 2;
    } else if (s_.substr(pos_, 1) == "=") {
      op = match_op::equal, pos_ += 1;
    } else {
      return fail(pos_, "one of = != =~ !~");
    }
    skip_ws();
    const std::size_t vpos = pos_;
    auto v = parse_string();
    if (!v) return v.error();
    if (v->size() > selector_limits::max_value)
      return fail(vpos, std::string(op == match_op::regex || op == match_op::not_regex
                                        ? "a regular expression"
                                        : "a value") +
                            " of at most " + std::to_string(selector_limits::max_value) + " bytes");
    try {
      return matcher(std::move(label), op, std::move(*v));
    } catch (const std::invalid_argument& e) {
      return error(errc::parse_error, "at position " + std::to_string(vpos) +
                                          ": invalid regular expression (RE2 syntax): " + e.what());
    }
  }

  result<std::string> parse_string() {
    if (pos_ >= s_.size() || (s_[pos_] != '"' && s_[pos_] != '\'' && s_[pos_] != '`'))
      return fail(pos_, "a quoted string");
    const char quote = s_[pos_++];
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != quote) {
      char c = s_[pos_++];
      if (c == '\\' && quote != '`') {
        if (pos_ >= s_.size()) break;
        c = s_[pos_++];
        switch (c) {
          case 'n':
            out += '\n';
            break;
          case 't':
            out += '\t';
            break;
          case '\\':
          case '"':
          case '\'':
            out += c;
            break;
          default:
            out += '\\', out += c;  // kept for regexes such as \d
        }
      } else {
        out += c;
      }
    }
    if (pos_ >= s_.size()) return fail(pos_, std::string("closing ") + quote);
    ++pos_;
    return out;
  }

  void skip_ws() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }

  vitals::error fail(std::size_t at, std::string expected) const {
    return vitals::error(errc::parse_error,
                         "at position " + std::to_string(at) + ": expected " + expected);
  }

  std::string_view s_;
  std::size_t pos_ = 0;
};

}  // namespace detail

inline result<selector> selector::parse(std::string_view text) {
  return detail::selector_parser(text).run();
}

}  // namespace vitals::stores
