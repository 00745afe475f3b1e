// Exposition families rebuilt from stored samples: the inverse of
// samplers::append_samples. `X_total` is a counter X; `X_bucket{le}`, `X_sum`
// and `X_count` with the same other labels are a histogram X; `X{quantile}`,
// `X_sum` and `X_count` a summary X; anything else a gauge (an unpaired part
// such as a lone `X_sum` is unknown). A family is emitted only when none of
// the sample names it would expose is already taken, so the result never
// repeats a name or lets two families claim one sample: /metrics stays
// parseable by Prometheus and OpenMetrics parsers.
#pragma once

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/detail/config.hpp"
#include "vitals/core/snapshot.hpp"

namespace vitals::format {

using name_set = std::set<std::string, std::less<>>;

/// The sample names (and the family name) a family of `type` named `name`
/// exposes in either text format.
VITALS_DECL std::vector<std::string> exposed_names(std::string_view name, metric_type type);

/// Every name that the families of `snap` expose.
VITALS_DECL name_set exposed_names(const metric_snapshot& snap);

/// Families for the latest points of stored series, leaving out every name
/// in `taken` (pass exposed_names(registry snapshot)). `taken` grows by the
/// names emitted. Returns how many series were left out because of a clash.
VITALS_DECL std::size_t append_families(std::span<const std::pair<series, point>> latest,
                                        name_set& taken, metric_snapshot& out);

}  // namespace vitals::format

#if defined(VITALS_HEADER_ONLY)
#include "vitals/format/detail/families_impl.hpp"
#endif
