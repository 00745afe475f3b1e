// A sample is one value of one series at one instant: the unit that samplers
// produce, stores keep and sinks push.
#pragma once

#include <vector>

#include "vitals/core/series.hpp"
#include "vitals/core/time.hpp"

namespace vitals {

struct sample {
  vitals::series series;
  timestamp t;
  double value = 0;

  friend bool operator==(const sample&, const sample&) = default;
};

using sample_batch = std::vector<sample>;

}  // namespace vitals
