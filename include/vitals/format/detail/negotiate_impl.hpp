// The definitions behind format/negotiate.hpp: included by it in the
// header-only mode, compiled once into vitals::compiled otherwise.
#pragma once

#include "vitals/format/negotiate.hpp"

namespace vitals::format {

namespace detail {

/// One element of an Accept header: `type/subtype;param=value;q=0.5`.
struct media_range {
  std::string_view type;  // `type/subtype`, trimmed
  std::string_view version;
  std::string_view proto, encoding;  // the protobuf format's parameters
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
    } else if (iequals(key, "proto")) {
      r.proto = value;
    } else if (iequals(key, "encoding")) {
      r.encoding = value;
    }
  }
  return r;
}

}  // namespace detail

VITALS_DECL exposition negotiate(std::string_view accept_header) noexcept {
  double pb_q = 0;
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
    if (detail::iequals(r.type, "application/vnd.google.protobuf")) {
      if (r.proto == "io.prometheus.client.MetricFamily" && r.encoding == "delimited")
        pb_q = std::max(pb_q, r.q);
    } else if (detail::iequals(r.type, "application/openmetrics-text")) {
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
  if (pb_q > 0 && pb_q >= om_q && pb_q >= text_q) return exposition::protobuf;
  return om_q > 0 && om_q >= text_q ? exposition::openmetrics : exposition::text;
}

VITALS_DECL void write_families(std::string& out, const metric_snapshot& snap, exposition e) {
  if (e == exposition::openmetrics)
    write_openmetrics_families(out, snap);
  else if (e == exposition::protobuf)
    write_protobuf(out, snap);
  else
    write_text(out, snap);
}

VITALS_DECL void write(std::string& out, const metric_snapshot& snap, exposition e) {
  write_families(out, snap, e);
  write_end(out, e);
}

}  // namespace vitals::format
