// The OpenMetrics 1.0 text format. Appends a snapshot to a string, ending
// with `# EOF`; `le` and `quantile` use canonical numbers, timestamps are
// seconds; counters and histogram buckets carry their exemplars. A UNIT the family name does not
// end in (`_<unit>`) is left out.
#pragma once

#include <string>
#include <string_view>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/format/detail/exposition.hpp"

namespace vitals::format {

inline constexpr std::string_view openmetrics_content_type =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

struct openmetrics_options {
  /// Emit `<name>_created` for counters, histograms and summaries whose
  /// points carry a creation time. Off by default: scrapers that do not
  /// understand creation times store each `_created` line as a series of its
  /// own, which doubles the series count of every counter.
  bool created = false;
};

/// Appends the families of `snap` to `out` without the closing `# EOF`: for
/// an exposition written in parts (format::write_families).
VITALS_DECL void write_openmetrics_families(std::string& out, const metric_snapshot& snap,
                                            openmetrics_options opts = {});

/// Appends the exposition of `snap` to `out`, `# EOF` included.
VITALS_DECL void write_openmetrics(std::string& out, const metric_snapshot& snap,
                                   openmetrics_options opts = {});

VITALS_DECL std::string to_openmetrics(const metric_snapshot& snap, openmetrics_options opts = {});

}  // namespace vitals::format

#if defined(VITALS_HEADER_ONLY)
#include "vitals/format/detail/openmetrics_impl.hpp"
#endif
