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

  friend bool operator==(const sample& a, const sample& b) {
    return a.series == b.series && a.t == b.t && a.value == b.value &&
           (a.exemplar == b.exemplar || (a.exemplar && b.exemplar && *a.exemplar == *b.exemplar));
  }
};

using sample_batch = std::vector<sample>;

}  // namespace vitals
