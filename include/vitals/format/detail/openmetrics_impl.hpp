// The definitions behind format/openmetrics.hpp: included by it in the header-only
// mode, compiled once into vitals::compiled otherwise.
#pragma once

#include "vitals/format/openmetrics.hpp"

namespace vitals::format {

namespace detail {

/// TYPE, UNIT, HELP: the order the spec recommends.
inline void append_openmetrics_header(std::string& out, const metric_family& f) {
  out += "# TYPE ";
  out += f.name;
  out += ' ';
  out += to_string(f.type);
  out += '\n';
  if (unit_fits(f.name, f.unit)) {
    out += "# UNIT ";
    out += f.name;
    out += ' ';
    out += f.unit;
    out += '\n';
  }
  if (!f.help.empty()) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_escaped(out, f.help, true);
    out += '\n';
  }
}

inline void write_openmetrics_family(std::string& out, const metric_family& f,
                                     openmetrics_options opts) {
  constexpr auto d = dialect::openmetrics;
  const std::string_view name = f.name;
  auto created = [&](const metric_point& p) {
    if (opts.created && p.created)
      append_sample(out, d, name, "_created", p.labels, *p.created, p.t);
  };
  append_openmetrics_header(out, f);
  bound_text bounds;
  for (const auto& p : f.points) {
    switch (f.type) {
      case metric_type::counter:
        append_sample(out, d, name, "_total", p.labels, p.value, p.t);
        if (p.exemplar) append_exemplar(out, *p.exemplar);
        created(p);
        break;
      case metric_type::gauge:
      case metric_type::stateset:
      case metric_type::unknown:
        append_sample(out, d, name, "", p.labels, p.value, p.t);
        break;
      case metric_type::info:
        append_sample(out, d, name, "_info", p.labels, 1, p.t);
        break;
      case metric_type::histogram:
        append_buckets(out, d, name, p, bounds);
        append_sample(out, d, name, "_count", p.labels, p.count, p.t);
        append_sample(out, d, name, "_sum", p.labels, p.sum, p.t);
        created(p);
        break;
      case metric_type::gaugehistogram:
        append_buckets(out, d, name, p, bounds);
        append_sample(out, d, name, "_gcount", p.labels, p.count, p.t);
        append_sample(out, d, name, "_gsum", p.labels, p.sum, p.t);
        break;
      case metric_type::summary:
        append_quantiles(out, d, name, p);
        append_sample(out, d, name, "_count", p.labels, p.count, p.t);
        append_sample(out, d, name, "_sum", p.labels, p.sum, p.t);
        created(p);
        break;
    }
  }
}

}  // namespace detail

VITALS_DECL void write_openmetrics_families(std::string& out, const metric_snapshot& snap,
                                            openmetrics_options opts) {
  out.reserve(out.size() + detail::estimate_size(snap));
  for (const auto& f : snap) detail::write_openmetrics_family(out, f, opts);
}

VITALS_DECL void write_openmetrics(std::string& out, const metric_snapshot& snap,
                                   openmetrics_options opts) {
  write_openmetrics_families(out, snap, opts);
  out += "# EOF\n";
}

VITALS_DECL std::string to_openmetrics(const metric_snapshot& snap, openmetrics_options opts) {
  std::string out;
  write_openmetrics(out, snap, opts);
  return out;
}

}  // namespace vitals::format
