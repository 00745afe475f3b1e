// The definitions behind format/text.hpp: included by it in the header-only
// mode, compiled once into vitals::compiled otherwise.
#pragma once

#include "vitals/format/text.hpp"

namespace vitals::format {

namespace detail {

/// `# HELP` (only when there is help text; 0.0.4 escapes `\` and newline)
/// and `# TYPE` for the sample name `name<suffix>`.
inline void append_text_header(std::string& out, std::string_view name, std::string_view suffix,
                               std::string_view help, std::string_view type) {
  if (!help.empty()) {
    out += "# HELP ";
    out += name;
    out += suffix;
    out += ' ';
    append_escaped(out, help, false);
    out += '\n';
  }
  out += "# TYPE ";
  out += name;
  out += suffix;
  out += ' ';
  out += type;
  out += '\n';
}

// OpenMetrics-only types are mapped the way the Python client does it, so
// the series names match what Prometheus stores from an OpenMetrics scrape:
// info becomes the gauge `<name>_info` with value 1, a stateset a gauge with
// one sample per state, a gauge histogram a histogram of its buckets plus the
// gauges `<name>_gcount` and `<name>_gsum`.
inline void write_text_family(std::string& out, const metric_family& f) {
  constexpr auto d = dialect::text;
  const std::string_view name = f.name;
  bound_text bounds;
  switch (f.type) {
    case metric_type::counter:
      append_text_header(out, name, "_total", f.help, "counter");
      for (const auto& p : f.points) append_sample(out, d, name, "_total", p.labels, p.value, p.t);
      return;
    case metric_type::gauge:
    case metric_type::stateset:
    case metric_type::unknown:
      append_text_header(out, name, "", f.help,
                         f.type == metric_type::unknown ? "untyped" : "gauge");
      for (const auto& p : f.points) append_sample(out, d, name, "", p.labels, p.value, p.t);
      return;
    case metric_type::info:
      append_text_header(out, name, "_info", f.help, "gauge");
      for (const auto& p : f.points) append_sample(out, d, name, "_info", p.labels, 1, p.t);
      return;
    case metric_type::histogram:
      append_text_header(out, name, "", f.help, "histogram");
      for (const auto& p : f.points) {
        append_buckets(out, d, name, p, bounds);
        append_sample(out, d, name, "_sum", p.labels, p.sum, p.t);
        append_sample(out, d, name, "_count", p.labels, p.count, p.t);
      }
      return;
    case metric_type::gaugehistogram:
      append_text_header(out, name, "", f.help, "histogram");
      for (const auto& p : f.points) append_buckets(out, d, name, p, bounds);
      append_text_header(out, name, "_gcount", f.help, "gauge");
      for (const auto& p : f.points) append_sample(out, d, name, "_gcount", p.labels, p.count, p.t);
      append_text_header(out, name, "_gsum", f.help, "gauge");
      for (const auto& p : f.points) append_sample(out, d, name, "_gsum", p.labels, p.sum, p.t);
      return;
    case metric_type::summary:
      append_text_header(out, name, "", f.help, "summary");
      for (const auto& p : f.points) {
        append_quantiles(out, d, name, p);
        append_sample(out, d, name, "_sum", p.labels, p.sum, p.t);
        append_sample(out, d, name, "_count", p.labels, p.count, p.t);
      }
      return;
  }
}

}  // namespace detail

VITALS_DECL void write_text(std::string& out, const metric_snapshot& snap) {
  out.reserve(out.size() + detail::estimate_size(snap));
  for (const auto& f : snap) detail::write_text_family(out, f);
}

VITALS_DECL std::string to_text(const metric_snapshot& snap) {
  std::string out;
  write_text(out, snap);
  return out;
}

}  // namespace vitals::format
