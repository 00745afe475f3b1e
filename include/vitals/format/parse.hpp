// A parser for Prometheus text 0.0.4 and OpenMetrics 1.0, for scraping other
// exporters. It never throws on bad input: each bad line is reported with its
// 1-based number and skipped, and every good line is kept.
//
// What comes back is the model the writers print: counter families without
// `_total`, `_bucket`/`_sum`/`_count`/`_created` samples grouped into points,
// timestamps in metric_point::t (text: integer ms, OpenMetrics: seconds).
// Samples without a TYPE make `unknown` families. OpenMetrics exemplars are
// checked and dropped; an OpenMetrics body must end with `# EOF`.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/snapshot.hpp"
#include "vitals/format/detail/parse_builder.hpp"
#include "vitals/format/detail/parse_line.hpp"
#include "vitals/format/detail/strings.hpp"

namespace vitals::format {

struct parse_error_item {
  std::size_t line = 0;  // 1-based
  std::string message;
  friend bool operator==(const parse_error_item&, const parse_error_item&) = default;
};

struct parse_result {
  metric_snapshot families;
  std::vector<parse_error_item> errors;
  bool ok() const noexcept { return errors.empty(); }
};

namespace detail {

inline parse_result parse_exposition(std::string_view body, dialect d) {
  const bool om = d == dialect::openmetrics;
  parse_result r;
  snapshot_builder builder(d);
  std::size_t line_no = 0;
  bool eof = false;
  while (!body.empty()) {
    const std::size_t nl = body.find('\n');
    std::string_view line = body.substr(0, nl);
    body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
    ++line_no;
    auto fail = [&](std::string message) { r.errors.push_back({line_no, std::move(message)}); };

    if (eof) {
      fail("content after '# EOF'");
      break;
    }
    if (!om) {  // the text format tolerates indentation (trailing blanks end HELP text)
      while (!line.empty() && is_blank(line.front())) line.remove_prefix(1);
    }
    if (line.empty()) {
      if (om) fail("empty line (OpenMetrics allows none)");
      continue;
    }
    if (line.front() == '#') {
      const comment_line c = read_comment(line, d);
      line_error e;
      switch (c.what) {
        case comment_line::kind::help:
          e = builder.help(c.name, c.text);
          break;
        case comment_line::kind::type:
          e = builder.type(c.name, c.text);
          break;
        case comment_line::kind::unit:
          e = builder.unit(c.name, c.text);
          break;
        case comment_line::kind::eof:
          eof = true;
          break;
        case comment_line::kind::other:
          break;  // free comments carry no data
      }
      if (e) fail(std::move(*e));
      continue;
    }
    sample_line s;
    if (auto e = read_sample(line, d, s)) {
      fail(std::move(*e));
      continue;
    }
    if (auto e = builder.add(std::move(s))) fail(std::move(*e));
  }
  if (om && !eof) {
    if (line_no == 0)
      r.errors.push_back({1, "missing '# EOF': the exposition is empty"});
    else
      r.errors.push_back(
          {line_no, "missing '# EOF': the exposition ends at line " + std::to_string(line_no)});
  }
  r.families = std::move(builder).finish();
  return r;
}

}  // namespace detail

/// Prometheus text format 0.0.4.
inline parse_result parse_text(std::string_view body) {
  return detail::parse_exposition(body, detail::dialect::text);
}

/// OpenMetrics 1.0 text format.
inline parse_result parse_openmetrics(std::string_view body) {
  return detail::parse_exposition(body, detail::dialect::openmetrics);
}

/// By Content-Type: OpenMetrics for `application/openmetrics-text`, the
/// text format for anything else, an empty or missing type included.
inline parse_result parse(std::string_view body, std::string_view content_type) {
  const std::string_view media =
      detail::trim_blanks(content_type.substr(0, content_type.find(';')));
  if (detail::iequals(media, "application/openmetrics-text")) return parse_openmetrics(body);
  return parse_text(body);
}

}  // namespace vitals::format
