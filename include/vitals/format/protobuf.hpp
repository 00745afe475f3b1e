// The Prometheus protobuf exposition format: delimited io.prometheus.client
// MetricFamily messages (each preceded by its length as a varint), the only
// format that carries native histograms to a scraper. Prometheus asks for it
// when started with --enable-feature=native-histograms; format::negotiate
// picks it from the Accept header.
//
// Counters are named with `_total` and info families with `_info`, as
// client_golang names them; stateset becomes a gauge. A classic histogram's
// +Inf bucket is left out (the scraper makes it from sample_count); a native
// histogram goes out with its schema, zero bucket and spans of bucket deltas
// and no classic buckets.
#pragma once

#include <string>
#include <string_view>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/snapshot.hpp"

namespace vitals::format {

inline constexpr std::string_view protobuf_content_type =
    "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; "
    "encoding=delimited";

/// Appends one delimited MetricFamily per family of `snap` to `out`.
VITALS_DECL void write_protobuf(std::string& out, const metric_snapshot& snap);

VITALS_DECL std::string to_protobuf(const metric_snapshot& snap);

}  // namespace vitals::format

#if defined(VITALS_HEADER_ONLY)
#include "vitals/format/detail/protobuf_impl.hpp"
#endif
