// A sample is one value of one series at one instant: the unit that samplers
// produce, stores keep and sinks push.
#pragma once

#include <memory>
#include <vector>

#include "vitals/core/series.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/core/time.hpp"

namespace vitals {

struct sample {
  vitals::series series;
  timestamp t;
  double value = 0;
  /// The traced observation behind a counter's or a bucket's value, when the
  /// registry had one (an OpenMetrics exemplar): pushed by the remote write
  /// sink; stores keep the value only. Shared: a batch copies it freely.
  std::shared_ptr<const vitals::exemplar> exemplar = nullptr;
  /// A native histogram's buckets, on its `_count` sample (samplers/registry.hpp):
  /// the remote write sink sends them as a native histogram named without
  /// `_count`; stores keep the count only.
  std::shared_ptr<const native_buckets> native = nullptr;

  friend bool operator==(const sample& a, const sample& b) {
    auto same = [](const auto& x, const auto& y) { return x == y || (x && y && *x == *y); };
    return a.series == b.series && a.t == b.t && a.value == b.value &&
           same(a.exemplar, b.exemplar) && same(a.native, b.native);
  }
};

using sample_batch = std::vector<sample>;

}  // namespace vitals
