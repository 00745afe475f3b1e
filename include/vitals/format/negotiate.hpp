// Content negotiation for `/metrics`: OpenMetrics when the Accept header
// ranks it at least as high as text/plain, the text format otherwise
// (including an absent or unreadable header). Never throws.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "vitals/core/snapshot.hpp"
#include "vitals/format/detail/number.hpp"
#include "vitals/format/detail/strings.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/text.hpp"

namespace vitals::format {

enum class exposition { text, openmetrics };

namespace detail {

/// One element of an Accept header: `type/subtype;param=value;q=0.5`.
struct media_range {
  std::string_view type;  // `type/subtype`, trimmed
  std::string_view version;
  double q = 1;
  bool valid = true;
};

inline media_range parse_media_range(std::string_view s) noexcept {
  media_range r;
  std::size_t semi = s.find(';');
  r.type = trim_blanks(s.substr(0, semi));
  while (semi != std::string_view::npos) {
    s.remove_prefix(semi + 1);
    semi = s.find(';');
    const std::string_view param = s.substr(0, semi);
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view key = trim_blanks(param.substr(0, eq));
    std::string_view value = trim_blanks(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (iequals(key, "q")) {
      const auto q = parse_double(value);
      if (q && *q >= 0 && *q <= 1)
        r.q = *q;
      else
        r.valid = false;  // an unreadable weight: the range counts for nothing
    } else if (iequals(key, "version")) {
      r.version = value;
    }
  }
  return r;
}

}  // namespace detail

/// OpenMetrics when the header lists `application/openmetrics-text`
/// (version 1.0.0 or 0.0.1, or none) with a q above zero and not below the
/// q of text/plain. text/plain's q comes from its most specific match:
/// `text/plain` (version 0.0.4 or none), else `text/*`, else `*/*`.
inline exposition negotiate(std::string_view accept_header) noexcept {
  double om_q = 0;
  double text_q = 0;
  int text_specificity = 0;  // 0 none, 1 */*, 2 text/*, 3 text/plain
  auto consider_text = [&](int specificity, double q) {
    if (specificity > text_specificity) {
      text_specificity = specificity;
      text_q = q;
    } else if (specificity == text_specificity) {
      text_q = std::max(text_q, q);
    }
  };
  while (!accept_header.empty()) {
    const std::size_t comma = accept_header.find(',');
    const auto r = detail::parse_media_range(accept_header.substr(0, comma));
    accept_header.remove_prefix(comma == std::string_view::npos ? accept_header.size() : comma + 1);
    if (!r.valid) continue;
    if (detail::iequals(r.type, "application/openmetrics-text")) {
      if (r.version.empty() || r.version == "1.0.0" || r.version == "0.0.1")
        om_q = std::max(om_q, r.q);
    } else if (detail::iequals(r.type, "text/plain")) {
      if (r.version.empty() || r.version == "0.0.4") consider_text(3, r.q);
    } else if (detail::iequals(r.type, "text/*")) {
      consider_text(2, r.q);
    } else if (r.type == "*/*") {
      consider_text(1, r.q);
    }
  }
  return om_q > 0 && om_q >= text_q ? exposition::openmetrics : exposition::text;
}

constexpr std::string_view content_type(exposition e) noexcept {
  return e == exposition::openmetrics ? openmetrics_content_type : text_content_type;
}

/// Appends the families of `snap` without OpenMetrics' closing `# EOF`, for
/// an exposition written in parts: `write_families` for each part, then
/// `write_end` once.
inline void write_families(std::string& out, const metric_snapshot& snap, exposition e) {
  if (e == exposition::openmetrics)
    write_openmetrics_families(out, snap);
  else
    write_text(out, snap);
}

/// Closes an exposition written with `write_families`.
inline void write_end(std::string& out, exposition e) {
  if (e == exposition::openmetrics) out += "# EOF\n";
}

/// Appends `snap` in the negotiated format (OpenMetrics with default options).
inline void write(std::string& out, const metric_snapshot& snap, exposition e) {
  write_families(out, snap, e);
  write_end(out, e);
}

}  // namespace vitals::format
