// The Prometheus text exposition format 0.0.4. Appends a snapshot to a string
// in one pass: no iostreams, no allocation but the string's own growth.
// Numbers round-trip exactly; `_created` and units do not exist in 0.0.4.
#pragma once

#include <string>
#include <string_view>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/format/detail/exposition.hpp"

namespace vitals::format {

inline constexpr std::string_view text_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Appends the exposition of `snap` to `out`. A string kept across scrapes
/// keeps its capacity, so later scrapes do not allocate (or page-fault) at all.
VITALS_DECL void write_text(std::string& out, const metric_snapshot& snap);

VITALS_DECL std::string to_text(const metric_snapshot& snap);

}  // namespace vitals::format

#if defined(VITALS_HEADER_ONLY)
#include "vitals/format/detail/text_impl.hpp"
#endif
