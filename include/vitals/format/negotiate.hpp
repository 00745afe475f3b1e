// Content negotiation for `/metrics`: the protobuf format when the Accept
// header asks for delimited io.prometheus.client.MetricFamily messages and
// ranks them at least as high as the text formats (Prometheus does, with
// native histograms on); else OpenMetrics when it ranks that at least as
// high as text/plain; the text format otherwise (including an absent or
// unreadable header). Never throws.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/format/detail/number.hpp"
#include "vitals/format/detail/strings.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/protobuf.hpp"
#include "vitals/format/text.hpp"

namespace vitals::format {

enum class exposition { text, openmetrics, protobuf };
inline constexpr std::size_t exposition_count = 3;

/// OpenMetrics when the header lists `application/openmetrics-text`
/// (version 1.0.0 or 0.0.1, or none) with a q above zero and not below the
/// q of text/plain. text/plain's q comes from its most specific match:
/// `text/plain` (version 0.0.4 or none), else `text/*`, else `*/*`.
VITALS_DECL exposition negotiate(std::string_view accept_header) noexcept;

constexpr std::string_view content_type(exposition e) noexcept {
  return e == exposition::openmetrics ? openmetrics_content_type
         : e == exposition::protobuf  ? protobuf_content_type
                                      : text_content_type;
}

/// Appends the families of `snap` without OpenMetrics' closing `# EOF`, for
/// an exposition written in parts: `write_families` for each part, then
/// `write_end` once.
VITALS_DECL void write_families(std::string& out, const metric_snapshot& snap, exposition e);

/// Closes an exposition written with `write_families`.
inline void write_end(std::string& out, exposition e) {
  if (e == exposition::openmetrics) out += "# EOF\n";
}

/// Appends `snap` in the negotiated format (OpenMetrics with default options).
VITALS_DECL void write(std::string& out, const metric_snapshot& snap, exposition e);

}  // namespace vitals::format

#if defined(VITALS_HEADER_ONLY)
#include "vitals/format/detail/negotiate_impl.hpp"
#endif
